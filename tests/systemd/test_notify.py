"""Readiness, status, watchdog and stopping over a NOTIFY_SOCKET this test
binds: READY=1 comes after the socket accepts, STATUS= lines come and follow
the counters, WATCHDOG=1 comes at half of WATCHDOG_USEC, STOPPING=1 on
SIGTERM."""
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import ipcd_testlib
from ipcwire import Client

WATCHDOG_USEC = 600000       # pings expected every 0.3 s


class Notified:
    """ipcd with a NOTIFY_SOCKET we read every datagram of, with its time."""

    def __init__(self, *opts, env=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="ipcd-sd-")
        self.sock_path = os.path.join(self.tmp.name, "ipcd.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(os.path.join(self.tmp.name, "notify"))
        e = ipcd_testlib.sanitizer_env(dict(os.environ))
        for k in ("LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC", "WATCHDOG_PID"):
            e.pop(k, None)
        e["NOTIFY_SOCKET"] = os.path.join(self.tmp.name, "notify")
        e.update(env or {})
        self.err_path = os.path.join(self.tmp.name, "stderr")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([ipcd_testlib.ipcd_bin(), "--socket", self.sock_path] + list(opts),
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=e,
                                         preexec_fn=ipcd_testlib.die_with_parent)
        self.messages = []       # (monotonic time, [lines])

    def next(self, pred, timeout=10.0, what="message"):
        """Read datagrams until pred(lines) is true; returns (t, lines)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no %s within %.0f s; got %r; stderr:\n%s" % (what, timeout, self.messages,
                                                                          self.stderr())
            self.notify.settimeout(min(left, 0.25))
            try:
                data = self.notify.recv(4096)
            except socket.timeout:
                assert self.proc.poll() is None, "ipcd exited; stderr:\n" + self.stderr()
                continue
            m = (time.monotonic(), data.decode().split("\n"))
            self.messages.append(m)
            if pred(m[1]):
                return m

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.notify.close()
        self.tmp.cleanup()


@pytest.fixture
def notified():
    made = []

    def make(*opts, **kw):
        n = Notified(*opts, **kw)
        made.append(n)
        return n
    yield make
    for n in made:
        n.close()


def status_of(lines):
    return [l[len("STATUS="):] for l in lines if l.startswith("STATUS=")]


def test_ready_status_watchdog_stopping(notified):
    n = notified("-o", "status_interval=1", env={"WATCHDOG_USEC": str(WATCHDOG_USEC)})
    _, lines = n.next(lambda l: "READY=1" in l, what="READY=1")
    # Ready means accepting: connect right away, no retry.
    c = Client(n.sock_path)
    assert c.ok("ping") == "pong"
    assert status_of(lines) == ["0 clients, 0 objects, 0 ops"], lines    # sent with READY=1
    # STATUS follows the counters (sent when changed, every status_interval).
    c.ok("queue.put", "q", 1)
    _, lines = n.next(lambda l: any(s.startswith("1 clients, 1 objects") for s in status_of(l)),
                      what="STATUS= with 1 client and 1 object")
    # WATCHDOG=1 at about half of WATCHDOG_USEC, measured over 2 s.
    start = time.monotonic()
    pings = []
    while time.monotonic() - start < 2.0:
        t, lines = n.next(lambda l: "WATCHDOG=1" in l, what="WATCHDOG=1")
        pings.append(t)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert len(pings) >= 4, pings
    assert max(gaps) < WATCHDOG_USEC / 1e6, "a watchdog ping came late: gaps %r" % gaps
    c.close()
    n.proc.send_signal(signal.SIGTERM)
    n.next(lambda l: "STOPPING=1" in l, what="STOPPING=1")
    assert n.proc.wait(10) == 0
    assert ipcd_testlib.sanitizer_report(n.stderr()) is None, n.stderr()


def test_ready_comes_after_the_socket_accepts(notified):
    n = notified()
    n.next(lambda l: "READY=1" in l, what="READY=1")
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(n.sock_path)       # no retry: it must accept now
    n.proc.send_signal(signal.SIGTERM)
    n.next(lambda l: "STOPPING=1" in l, what="STOPPING=1")
    assert n.proc.wait(10) == 0


def test_no_watchdog_pings_unless_asked_or_when_off(notified):
    for env, opts in (({}, ()), ({"WATCHDOG_USEC": "200000"}, ("-o", "watchdog=no"))):
        n = notified(*opts, env=env)
        n.next(lambda l: "READY=1" in l, what="READY=1")
        n.notify.settimeout(0.5)     # a ping would come every 0.1 s
        try:
            while True:
                data = n.notify.recv(4096)
                assert b"WATCHDOG=1" not in data
        except socket.timeout:
            pass
        n.proc.send_signal(signal.SIGTERM)
        assert n.proc.wait(10) == 0


def test_reload_says_reloading_then_ready(notified, tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("max_name = 10\n")
    n = notified("--config", str(conf))
    n.next(lambda l: "READY=1" in l, what="READY=1")
    conf.write_text("max_name = 20\n")
    n.proc.send_signal(signal.SIGHUP)
    _, lines = n.next(lambda l: "RELOADING=1" in l, what="RELOADING=1")
    assert any(l.startswith("MONOTONIC_USEC=") for l in lines)
    n.next(lambda l: "READY=1" in l, what="READY=1 after the reload")
    assert Client(n.sock_path).hello_reply["max_name"] == 20
    n.proc.send_signal(signal.SIGTERM)
    assert n.proc.wait(10) == 0
