"""ipcctl (through libipcd) rides through a daemon restart under socket
activation: a blocked `queue get` waits on in the next daemon and prints the
item put there; `monitor` watches the next daemon; calls made while the
daemon is away retry until it is back."""
import json
import os
import queue
import subprocess
import threading
import time

import pytest

import ipcd_testlib
from conftest import Ctl

pytestmark = pytest.mark.skipif(ipcd_testlib.ACTIVATE is None,
                                reason="systemd-socket-activate is not installed (Debian: systemd)")


@pytest.fixture
def activated(tmp_path):
    yield from ipcd_testlib.activated_factory(tmp_path)


def test_a_blocked_get_rides_through_a_restart(activated):
    a = activated()
    ctl = Ctl(a.sock)
    ctl.ok("queue", "put", "jobs", '"before"')
    getter = ctl.spawn("queue", "get", "later", "--timeout", "60")
    ctl.wait_parked("later")
    a.stop()
    a.start()
    ctl.wait_parked("later")           # the same get, parked again in the new daemon
    ctl.ok("queue", "put", "later", '"after"')
    r = ctl.finish(getter, ("queue", "get", "later"))
    assert r.rc == 0 and r.out == 'after\n', r
    assert ctl.ok("queue", "get", "jobs") == 'before\n'   # state_dir kept it


def test_a_blocked_get_keeps_only_what_is_left_of_its_timeout(activated):
    a = activated()
    ctl = Ctl(a.sock)
    t0 = time.monotonic()
    getter = ctl.spawn("queue", "get", "never", "--timeout", "2")
    ctl.wait_parked("never")
    a.stop()
    a.start()
    r = ctl.finish(getter, ("queue", "get", "never"))
    elapsed = time.monotonic() - t0
    assert r.rc == 3, r                 # timed out, in the new daemon
    assert 2 <= elapsed < 2 + 2 * ipcd_testlib.NOT_LATE + 1.0, elapsed


def monitors_attached(ctl):
    """How many connections are attached as monitors (from `clients`)."""
    r = ctl.run("--json", "clients")
    if r.rc != 0:
        return 0
    return sum(1 for c in json.loads(r.out) if (c.get("blocked") or {}).get("op") == "monitor")


def wait_attached(ctl, what):
    deadline = time.monotonic() + 15
    while monitors_attached(ctl) != 1:
        assert time.monotonic() < deadline, what


def test_monitor_watches_the_next_daemon_after_a_restart(activated):
    a = activated()
    ctl = Ctl(a.sock)
    mon = subprocess.Popen(ctl.argv(["--json", "monitor"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=ipcd_testlib.sanitizer_env(dict(os.environ)))
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in mon.stdout], daemon=True).start()

    def next_put():
        deadline = time.monotonic() + 15
        while True:
            ev = json.loads(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            if ev["op"] == "queue.put":
                return ev

    try:
        wait_attached(ctl, "monitor did not attach")
        ctl.ok("queue", "put", "q", "1")
        assert next_put()["name"] == "q"
        a.stop()
        a.start()
        wait_attached(ctl, "monitor did not attach to the new daemon")
        ctl.ok("queue", "put", "q2", "2")
        assert next_put()["name"] == "q2"
    finally:
        mon.terminate()
        _, err = mon.communicate(timeout=10)
    assert "the daemon restarted; watching the new one" in err, err
