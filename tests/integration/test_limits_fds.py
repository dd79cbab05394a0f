"""Out of file descriptors: the daemon refuses the connections it cannot
take with MAXCLIENTS (logged once), keeps serving the ones it has, and
warns at start when RLIMIT_NOFILE cannot hold max_clients."""
import resource

import pytest

import ipcd_testlib
from ipcwire import Client, E, wait_until

FD_LIMIT = 64


@pytest.fixture
def fd_limited(monkeypatch):
    """Daemons started while this is in use get RLIMIT_NOFILE FD_LIMIT
    (soft and hard: the daemon cannot raise it)."""
    die_with_parent = ipcd_testlib.die_with_parent

    def limited():
        die_with_parent()
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))
    monkeypatch.setattr(ipcd_testlib, "die_with_parent", limited)


def hello(c):
    """Say hello on a raw connection: its reply (ok, or MAXCLIENTS with id 0)."""
    try:
        c.send("hello", 1, {"name": "fds"})
    except (BrokenPipeError, ConnectionResetError):
        pass                    # refused and closed already: its frame is still to be read
    return c.recv()


def test_out_of_descriptors_refuses_and_does_not_spin(fd_limited, make_daemon):
    d = make_daemon("-o", "max_clients=1000")
    assert "RLIMIT_NOFILE allows only %d descriptors" % FD_LIMIT in d.stderr()
    conns = [Client(d.sock_path, hello=False) for _ in range(80)]
    d.clients.extend(conns)
    accepted, refused = [], []
    for c in conns:               # every connection gets an answer
        r = hello(c)
        if r.status == 0:
            accepted.append(c)
        else:
            assert (r.id, r.status) == (0, E.MAXCLIENTS), r
            assert "file descriptors" in r.result
            assert c.expect_closed()
            refused.append(c)
    assert refused and len(accepted) >= FD_LIMIT // 2, (len(accepted), len(refused))
    for c in accepted:
        assert c.ok("ping") == "pong"
    # One line for the episode, not one per try.
    assert d.stderr().count("Too many open files") == 1, d.stderr()[-2000:]
    # Freed descriptors are used again.
    for c in accepted[:5]:
        c.close()
    wait_until(lambda: accepted[-1].ok("info")["clients"] == len(accepted) - 5,
               what="the closed clients to be counted out")
    again = d.connect()
    assert again.ok("ping") == "pong"


def test_soft_limit_is_raised_to_fit_max_clients(make_daemon):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 200 + 32
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip("the hard RLIMIT_NOFILE (%d) is below %d" % (hard, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    try:
        d = make_daemon("-o", "max_clients=200")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert "RLIMIT_NOFILE" not in d.stderr()
    with open("/proc/%d/limits" % d.pid) as f:
        line = next(l for l in f if l.startswith("Max open files"))
    assert int(line.split()[3]) >= want, line
    conns = [d.connect() for _ in range(100)]
    assert conns[-1].ok("info")["clients"] == 100
