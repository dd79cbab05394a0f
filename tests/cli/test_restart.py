"""ipcctl (through libipcd) rides through a daemon restart under socket
activation: a blocked `queue get` waits on in the next daemon and prints the
item put there; calls made while the daemon is away retry until it is back."""
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
