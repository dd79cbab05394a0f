"""Riding through a daemon restart: under socket activation (the listening
socket is made again by systemd-socket-activate, as systemd would keep it)
and with state_dir, producers and consumers see no error while the daemon
is replaced, and every item is consumed exactly once; a blocked get waits on
in the next daemon with what is left of its timeout."""
import threading
import time

import pytest

import ipcd
import ipcd_testlib

pytestmark = pytest.mark.skipif(ipcd_testlib.ACTIVATE is None, reason="systemd-socket-activate is not installed "
                                "(Debian: systemd)")


@pytest.fixture
def activated(tmp_path):
    yield from ipcd_testlib.activated_factory(tmp_path)


def wait_parked(watcher, name, what):
    """Until a request waits on name (each check a round trip; bounded)."""
    deadline = time.monotonic() + 10
    while not watcher.call("exists", name) or watcher.call("stat", name)["waiting"] == 0:
        assert time.monotonic() < deadline, what


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
    wait_parked(watcher, "later", "get did not park")
    a.stop()
    a.start()
    wait_parked(watcher, "later", "get did not park again in the new daemon")
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
    wait_parked(watcher, "never", "get did not park")
    a.stop()
    a.start()
    t.join(30)
    (err, elapsed), = result
    assert isinstance(err, ipcd.Empty), err
    assert timeout <= elapsed < timeout + 2 * ipcd_testlib.NOT_LATE + 1.0
