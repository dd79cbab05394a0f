"""Riding through a daemon restart: under socket activation (the listening
socket is made again by systemd-socket-activate, as systemd would keep it)
and with state_dir, producers and consumers see no error while the daemon
is replaced, and every item is consumed exactly once; a blocked get waits on
in the next daemon with what is left of its timeout."""
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

import ipcd
import ipcd_testlib

ACTIVATE = shutil.which("systemd-socket-activate")
pytestmark = pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate is not installed "
                                "(Debian: systemd)")


class Activated:
    """ipcd behind systemd-socket-activate on one socket path, replaced at will."""

    def __init__(self, tmp_path, *opts):
        self.sock = str(tmp_path / "ipcd.sock")
        self.state = str(tmp_path / "state")
        self.opts = list(opts)
        self.proc = None
        self.n = 0
        self.logs = []

    def start(self):
        self.n += 1
        log = open(os.path.join(os.path.dirname(self.sock), "ipcd.%d.log" % self.n), "wb")
        self.logs.append(log.name)
        env = ipcd_testlib.sanitizer_env(dict(os.environ))
        env.pop("NOTIFY_SOCKET", None)
        self.proc = subprocess.Popen(
            [ACTIVATE, "-l", self.sock, "--", ipcd_testlib.ipcd_bin(), "-o", "state_dir=" + self.state]
            + self.opts, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            preexec_fn=ipcd_testlib.die_with_parent)
        log.close()
        deadline = time.monotonic() + ipcd_testlib.READY_TIMEOUT
        while not os.path.exists(self.sock):   # the listening socket, made before anything runs
            assert self.proc.poll() is None and time.monotonic() < deadline, "no socket at %s" % self.sock
            time.sleep(0.01)

    def stop(self):
        """SIGTERM: ipcd answers what it read, tells every connection, exits."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(ipcd_testlib.STOP_TIMEOUT) == 0, self.stderr()
        self.proc = None

    def stderr(self):
        out = ""
        for p in self.logs:
            with open(p, "rb") as f:
                out += f.read().decode(errors="replace")
        return out

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(ipcd_testlib.STOP_TIMEOUT)


@pytest.fixture
def activated(tmp_path):
    made = []

    def make(*opts):
        a = Activated(tmp_path, *opts)
        made.append(a)
        a.start()
        return a
    yield make
    for a in made:
        a.cleanup()
        assert ipcd_testlib.sanitizer_report(a.stderr()) is None, a.stderr()


def test_producers_and_consumers_ride_through_a_restart(activated):
    a = activated("-o", "fsync=always")
    per_producer, producers, consumers = 400, 2, 2
    total = per_producer * producers
    errors, got, lock = [], [], threading.Lock()
    progress = threading.Condition(lock)

    def produce(p):
        try:
            q = ipcd.Queue("work", client=ipcd.Client(a.sock, reconnect_timeout=30))
            for i in range(per_producer):
                q.put("p%d-%d" % (p, i))
        except Exception as e:   # any error fails the test
            errors.append(e)

    def consume():
        try:
            q = ipcd.Queue("work", client=ipcd.Client(a.sock, reconnect_timeout=30))
            while True:
                with lock:
                    if len(got) >= total:
                        return
                try:
                    item = q.get(timeout=1)
                except ipcd.Empty:
                    continue
                with progress:
                    got.append(item)
                    progress.notify_all()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    threads += [threading.Thread(target=consume) for _ in range(consumers)]
    for t in threads:
        t.start()
    for _ in range(2):            # two restarts in the middle of the run
        with progress:
            target = min(total - 1, len(got) + total // 4)
            assert progress.wait_for(lambda: len(got) >= target or errors, timeout=60), "no progress"
        a.stop()
        a.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "a client thread is stuck"
    assert not errors, errors
    assert len(got) == total and len(set(got)) == total
    assert set(got) == {"p%d-%d" % (p, i) for p in range(producers) for i in range(per_producer)}


def test_a_blocked_get_waits_on_in_the_next_daemon(activated):
    a = activated()
    c = ipcd.Client(a.sock, reconnect_timeout=30)
    q = ipcd.Queue("later", client=c)
    watcher = ipcd.Client(a.sock, reconnect_timeout=30)
    result = []
    t0 = time.monotonic()

    def getter():
        try:
            result.append(q.get(timeout=60))
        except Exception as e:
            result.append(e)
    t = threading.Thread(target=getter)
    t.start()
    deadline = time.monotonic() + 10
    while not watcher.call("exists", "later") or watcher.call("stat", "later")["waiting"] == 0:
        assert time.monotonic() < deadline, "get did not park"
    a.stop()
    a.start()
    deadline = time.monotonic() + 10
    while not watcher.call("exists", "later") or watcher.call("stat", "later")["waiting"] == 0:
        assert time.monotonic() < deadline, "get did not park again in the new daemon"
    watcher.call("queue.put", "later", "after the restart")
    t.join(30)
    assert result == ["after the restart"]
    assert time.monotonic() - t0 < 60


def test_a_blocked_get_keeps_only_what_is_left_of_its_timeout(activated):
    a = activated()
    q = ipcd.Queue("never", client=ipcd.Client(a.sock, reconnect_timeout=30))
    watcher = ipcd.Client(a.sock, reconnect_timeout=30)
    result = []
    timeout = 3.0
    t0 = time.monotonic()

    def getter():
        try:
            q.get(timeout=timeout)
        except Exception as e:
            result.append((e, time.monotonic() - t0))
    t = threading.Thread(target=getter)
    t.start()
    deadline = time.monotonic() + 10
    while not watcher.call("exists", "never") or watcher.call("stat", "never")["waiting"] == 0:
        assert time.monotonic() < deadline, "get did not park"
    a.stop()
    a.start()
    t.join(30)
    (err, elapsed), = result
    assert isinstance(err, ipcd.Empty), err
    assert timeout <= elapsed < timeout + 2 * ipcd_testlib.NOT_LATE + 1.0
