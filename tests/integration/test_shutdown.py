"""Startup and shutdown: SIGTERM with clients blocked, the socket file's
life cycle, a second daemon on a live socket, stale and foreign files."""
import os
import signal
import socket

import pytest

from ipcwire import Client, Closed, E, wait_until


def parked_client(daemon, observer, name="q"):
    """An untracked connection with a queue.get parked on name."""
    c = Client(daemon.sock_path)
    c.send("queue.get", name)
    wait_until(lambda: observer.ok("exists", name) and observer.ok("stat", name)["waiting"] == 1,
               what="get to park")
    return c


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_a_client_is_blocked(daemon, sig):
    observer = Client(daemon.sock_path)
    c = parked_client(daemon, observer)
    observer.ok("list.extend", "data", list(range(100)))   # something to free at exit
    os.kill(daemon.pid, sig)
    try:
        r = c.recv()
        assert r.status == E.SHUTDOWN, r
        assert c.expect_closed()
    except Closed:
        pass   # closing without a word is allowed too
    assert observer.expect_closed()
    assert daemon.proc.wait(10) == 0
    assert not os.path.exists(daemon.sock_path)
    c.close()
    observer.close()
    daemon.stop()    # checks exit status 0, socket gone, no sanitizer report


def test_sigterm_with_many_clients_and_objects(daemon):
    conns = [Client(daemon.sock_path) for _ in range(20)]
    for i, c in enumerate(conns[:5]):
        c.ok("queue.put_many", "q%d" % i, list(range(50)))
        c.ok("dict.update", "d%d" % i, {str(k): k for k in range(50)})
        c.ok("ns.set", "n%d" % i, "a", [1, 2])
    conns[6].send("list.blpop", "bl")
    conns[7].send("queue.put", "q0", 1)
    conns[8].send_raw(b"\x00\x00\x00\x10\x93")   # half a frame
    wait_until(lambda: conns[0].ok("stat", "bl")["waiting"] == 1 if conns[0].ok("exists", "bl") else False,
               what="blpop to park")
    daemon.stop()
    for c in conns:
        c.close()


def test_socket_file_exists_while_running_and_is_removed(daemon):
    assert os.path.exists(daemon.sock_path)
    st = os.stat(daemon.sock_path)
    import stat as statmod
    assert statmod.S_ISSOCK(st.st_mode)
    assert statmod.S_IMODE(st.st_mode) == 0o660
    daemon.stop()
    assert not os.path.exists(daemon.sock_path)


def test_second_daemon_on_a_live_socket_refuses_to_start(make_daemon):
    first = make_daemon()
    c = first.connect()
    c.ok("queue.put", "q", "kept")
    second = make_daemon(start=False, workdir=first.dir, sock_path=first.sock_path)
    second.spawn()
    assert second.exit_code() != 0
    assert not second.said_ready
    # The first one is untouched: same socket file, same data, new connections.
    assert os.path.exists(first.sock_path)
    assert c.ok("queue.get", "q") == "kept"
    assert first.connect().ok("ping") == "pong"


def test_stale_socket_file_is_cleaned_and_the_daemon_starts(make_daemon, tmp_path):
    path = str(tmp_path / "ipcd.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()                       # the file stays, nobody listens
    assert os.path.exists(path)
    d = make_daemon(workdir=str(tmp_path), sock_path=path)
    assert d.connect().ok("ping") == "pong"
    d.stop()
    assert not os.path.exists(path)


def test_stale_socket_from_a_killed_daemon(make_daemon, tmp_path):
    path = str(tmp_path / "ipcd.sock")
    victim = make_daemon(workdir=str(tmp_path), sock_path=path)
    victim.proc.kill()
    victim.proc.wait(10)
    victim.proc = None               # died on purpose: no clean-exit check
    assert os.path.exists(path)
    d = make_daemon(workdir=str(tmp_path), sock_path=path)
    assert d.connect().ok("ping") == "pong"


def test_a_regular_file_at_the_socket_path_is_not_touched(make_daemon, tmp_path):
    path = tmp_path / "ipcd.sock"
    path.write_text("precious")
    d = make_daemon(start=False, workdir=str(tmp_path), sock_path=str(path))
    d.spawn()
    assert d.exit_code() != 0
    assert not d.said_ready
    assert path.read_text() == "precious"


def test_socket_directory_is_created(make_daemon, tmp_path):
    path = str(tmp_path / "run" / "ipcd.sock")
    d = make_daemon(workdir=str(tmp_path), sock_path=path)
    assert d.connect().ok("ping") == "pong"


def test_socket_path_too_long_is_refused(make_daemon, tmp_path):
    path = str(tmp_path / ("x" * 120) / "ipcd.sock")
    d = make_daemon(start=False, workdir=str(tmp_path), sock_path=path)
    d.spawn()
    assert d.exit_code() != 0
    assert not d.said_ready


@pytest.mark.parametrize("opt", ["max_frame=1", "max_clients=0", "nosuch=1", "max_name=big", "max_depth=31",
                                 "noequals"])
def test_bad_option_is_refused(make_daemon, opt):
    d = make_daemon("-o", opt, start=False)
    d.spawn()
    assert d.exit_code() != 0
    assert not d.said_ready
    assert not os.path.exists(d.sock_path)


def test_restart_on_the_same_path(make_daemon, tmp_path):
    path = str(tmp_path / "ipcd.sock")
    d1 = make_daemon(workdir=str(tmp_path), sock_path=path)
    d1.connect().ok("queue.put", "q", 1)
    d1.stop()
    d2 = make_daemon(workdir=str(tmp_path), sock_path=path)
    c = d2.connect()
    assert c.ok("exists", "q") is False    # nothing is persisted
    assert c.ok("ping") == "pong"


def test_sigterm_with_parked_putters_holding_values(daemon):
    observer = Client(daemon.sock_path)
    observer.ok("create", "full", "queue", {"maxsize": 1})
    observer.ok("queue.put", "full", "x" * 1000)
    putters = [Client(daemon.sock_path) for _ in range(3)]
    for i, p in enumerate(putters):
        p.send("queue.put_many", "full", ["y" * 1000], None if i else 60)
        wait_until(lambda: observer.ok("stat", "full")["waiting"] == i + 1, what="putter to park")
    os.kill(daemon.pid, signal.SIGTERM)
    for p in putters:
        try:
            assert p.recv().status == E.SHUTDOWN
        except Closed:
            pass
        p.close()
    observer.close()
    assert daemon.proc.wait(10) == 0   # one SIGTERM only: a second may find no handler left
    daemon.stop()    # exit 0 and, under ASan, no leak of the held values
