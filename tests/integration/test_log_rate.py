"""A NOMEM flood does not flood the log (daemon/server.c, reply_error).

The first write refused for max_memory is logged in full (warning); the ones
after it are counted, and while they go on one summary line per interval
("N more writes refused: max_memory") says how many. An interval without any
ends the flood, so the next is logged in full again; stopping the daemon logs
what is still counted. Counted here in ipcd's stderr at log_level=info.

Waiting for the daemon's interval timer is a queue.get with a timeout on an
empty queue: the daemon holds the request, the test neither sleeps nor spins.
"""
import os
import re
import time

import pytest

from ipcwire import E

# Counts the log's NOMEM lines: a client's shm.open refused at this
# max_memory would be one more.
pytestmark = pytest.mark.socket_only("counts every NOMEM line, and the rings pass a 4K max_memory")

INTERVAL = 5.0                # NOMEM_LOG_INTERVAL in daemon/server.c
MAX_MEMORY = 4096
BIG = "x" * (2 * MAX_MEMORY)  # refused however empty the store is
FULL = re.compile(r"ipcd: warning: client \d+ \(pid \d+\): NOMEM: max_memory \(%d bytes\) reached$" % MAX_MEMORY)
SUMMARY = re.compile(r"ipcd: warning: (\d+) more writes refused: max_memory$")


def start(make_daemon):
    d = make_daemon("-o", "max_memory=%d" % MAX_MEMORY, "-o", "log_level=info")
    c = d.connect()
    c.ok("create", "tick", "queue")     # an empty queue to wait on
    return d, c


def refuse(c, n):
    """n writes, pipelined, each refused with NOMEM."""
    for _ in range(n):
        c.send("list.append", "l", BIG)
    for _ in range(n):
        r = c.recv()
        assert r.status == E.NOMEM, r


def wait(c, seconds):
    """Let seconds pass in the daemon: a get on the empty queue times out."""
    assert c.err("queue.get", "tick", seconds) == E.TIMEOUT


def counts(d):
    """(full NOMEM lines, [summary counts]) in d's stderr so far."""
    lines = d.stderr().splitlines()
    full = sum(1 for ln in lines if FULL.match(ln))
    summaries = [int(m.group(1)) for m in map(SUMMARY.match, lines) if m]
    assert not [ln for ln in lines if "NOMEM" in ln and not FULL.match(ln)], lines
    return full, summaries


def test_flood_is_one_warning_then_one_summary_per_interval(make_daemon):
    d, c = start(make_daemon)
    refuse(c, 1)
    t0 = time.monotonic()
    refuse(c, 300)
    assert c.ok("ping") == "pong"
    assert counts(d) == (1, [])

    deadline = t0 + INTERVAL + 5
    while counts(d)[1] == []:
        assert time.monotonic() < deadline, "no summary line within %.0f s:\n%s" % (INTERVAL + 5, d.stderr())
        wait(c, 0.2)
    assert time.monotonic() - t0 >= INTERVAL - 0.5, "a summary before the interval was up"
    assert counts(d) == (1, [300])

    # Still in the flood (the next interval runs): counted, not logged...
    refuse(c, 10)
    assert counts(d) == (1, [300])
    # ...until the daemon stops, which logs what it counted.
    d.stop()
    assert counts(d) == (1, [300, 10])


def test_a_quiet_interval_ends_the_flood(make_daemon):
    d, c = start(make_daemon)
    refuse(c, 1)
    assert counts(d) == (1, [])
    wait(c, INTERVAL + 1)           # nothing refused for a whole interval
    refuse(c, 1)
    assert counts(d) == (2, [])     # logged in full again, no empty summary
    d.stop()
    assert counts(d) == (2, [])


def test_stop_logs_what_was_counted(make_daemon):
    d, c = start(make_daemon)
    refuse(c, 51)
    d.stop()
    assert counts(d) == (1, [50])


def test_other_clients_are_counted_too(make_daemon):
    """The count is the daemon's, not a client's: many clients flooding
    together still make one line, then one summary."""
    d, c = start(make_daemon)
    others = [d.connect(name="other%d" % i) for i in range(3)]
    refuse(c, 1)
    for o in others:
        refuse(o, 20)
    d.stop()
    assert counts(d) == (1, [60])


def test_log_level_error_logs_none(make_daemon):
    d = make_daemon("-o", "max_memory=%d" % MAX_MEMORY, "-o", "log_level=error")
    c = d.connect()
    refuse(c, 20)
    d.stop()
    assert "NOMEM" not in d.stderr() and "refused" not in d.stderr(), d.stderr()
    assert os.path.getsize(d.stderr_path) == 0, d.stderr()
