"""Refused requests log at debug: at the default log_level a client that
sends thousands of bad requests writes no line for them (it hears why in
each reply), while log_level=debug still shows each."""
from ipcwire import E


def _refuse_many(c, name, n):
    assert c.ok("dict.set", name, "k", 1) is None
    for _ in range(n):
        c.send("queue.put", name, 1)
    for _ in range(n):
        assert c.recv().status == E.WRONGTYPE
    assert c.ok("ping") == "pong"


def test_refused_requests_do_not_flood_the_default_log(daemon):
    c = daemon.connect()
    _refuse_many(c, "refused.d", 2000)
    err = daemon.stderr()
    assert "refused.d" not in err and "WRONGTYPE" not in err and len(err.splitlines()) < 20, err[-2000:]


def test_refused_requests_show_at_debug(make_daemon):
    d = make_daemon("-o", "log_level=debug")
    c = d.connect()
    _refuse_many(c, "refused.d", 3)
    lines = [ln for ln in d.stderr().splitlines() if ln.startswith("ipcd: debug: ") and "refused.d" in ln]
    assert len(lines) >= 3, d.stderr()
