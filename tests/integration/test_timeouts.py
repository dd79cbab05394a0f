"""Silent connections: hello_timeout closes a connection that never says
hello, idle_timeout (off by default) one that sends nothing while nothing
of its own waits. Never early (strict), not late (generous)."""
import time

from ipcwire import Client, wait_until

LATE = 5.0   # seconds of slack for "not late" on a loaded machine


def test_hello_timeout_closes_a_silent_connection(make_daemon):
    d = make_daemon("-o", "hello_timeout=1")
    t0 = time.monotonic()
    silent = d.connect(hello=False)
    greeted = d.connect()
    assert silent.expect_closed(timeout=1 + LATE)
    took = time.monotonic() - t0
    assert 1.0 <= took < 1 + LATE, took
    # A client that said hello in time is not affected (default idle_timeout: none).
    assert greeted.ok("ping") == "pong"
    assert "no hello within hello_timeout (1 s); disconnecting" in d.stderr()


def test_silent_connections_do_not_hold_max_clients(make_daemon):
    d = make_daemon("-o", "hello_timeout=1", "-o", "max_clients=5")
    silent = [Client(d.sock_path, hello=False) for _ in range(5)]
    d.clients.extend(silent)
    for c in silent:
        assert c.expect_closed(timeout=1 + LATE)
    assert d.connect().ok("ping") == "pong"


def test_idle_timeout_closes_idle_but_not_waiting_clients(make_daemon):
    d = make_daemon("-o", "idle_timeout=1")
    waiting = d.connect()
    waiting.send("queue.get", "q")
    t0 = time.monotonic()
    idle = d.connect()          # its hello is the last thing it sends
    assert idle.expect_closed(timeout=1 + LATE)
    took = time.monotonic() - t0
    assert 1.0 <= took < 1 + LATE, took
    other = d.connect()
    other.ok("queue.put", "q", "go")
    r = waiting.recv()
    assert (r.status, r.result) == (0, "go")
    assert "silent for idle_timeout (1 s); disconnecting" in d.stderr()
