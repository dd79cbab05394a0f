"""SIGKILL at random moments while writers put and consumers get with
acknowledgement: after every restart each answered put is there exactly
once unless its ack was answered, nothing acked comes back, nothing appears
that was never put, nothing is there twice, and the task counter is exact.

A SIGKILL of the daemon alone loses nothing with any fsync policy: a commit
hands the log to the kernel before any reply goes out; what fsync decides is
what a crash of the whole machine may lose, which a test cannot do here."""
import random
import threading

import pytest

from ipcwire import Client, Closed
from test_persist import Stateful

ROUNDS = 50
WRITERS = 4
CONSUMERS = 4


class Ledger:
    """What the clients were told, across every round."""

    def __init__(self):
        self.lock = threading.Condition()
        self.put_ok = set()        # answered puts
        self.put_unknown = set()   # sent, no answer (the daemon died)
        self.acked = set()         # answered acks
        self.ack_unknown = set()


def writer(sock, wid, rnd, ledger, stop):
    try:
        c = Client(sock, name="writer", timeout=10)
    except OSError:
        return
    n = 0
    try:
        while not stop.is_set():
            value = "w%d-r%d-%d" % (wid, rnd, n)
            n += 1
            with ledger.lock:
                ledger.put_unknown.add(value)
            r = c.call("queue.put", "jobs", value)
            assert r.status == 0, r
            with ledger.lock:
                ledger.put_unknown.discard(value)
                ledger.put_ok.add(value)
                ledger.lock.notify_all()
    except (OSError, Closed):
        pass
    finally:
        c.close()


def consumer(sock, ledger, stop):
    try:
        c = Client(sock, name="consumer", timeout=10)
    except OSError:
        return
    try:
        while not stop.is_set():
            r = c.call("queue.get_ack", "jobs", 0.05)
            if r.status != 0:
                continue     # EMPTY or TIMEOUT: nothing to do yet
            d = r.result
            with ledger.lock:
                ledger.ack_unknown.add(d["value"])
            r = c.call("queue.ack", "jobs", d["id"])
            assert r.status == 0, r
            with ledger.lock:
                ledger.ack_unknown.discard(d["value"])
                ledger.acked.add(d["value"])
    except (OSError, Closed):
        pass
    finally:
        c.close()


def check(c, ledger, rnd):
    items = c.ok("dump", "jobs") if c.ok("exists", "jobs") else []
    st = c.ok("stat", "jobs") if items or c.ok("exists", "jobs") else {"unfinished": 0, "pending": 0}
    where = "after round %d" % rnd
    assert len(items) == len(set(items)), "an item is there twice %s" % where
    present = set(items)
    must = ledger.put_ok - ledger.acked - ledger.ack_unknown
    assert not (must - present), "answered puts lost %s: %r" % (where, sorted(must - present)[:5])
    assert not (present & ledger.acked), "acked items came back %s: %r" % (where, sorted(present & ledger.acked)[:5])
    invented = present - ledger.put_ok - ledger.put_unknown
    assert not invented, "items never put %s: %r" % (where, sorted(invented)[:5])
    assert st["pending"] == 0, where
    assert st["unfinished"] == len(items), "task counter %s: %r vs %d items" % (where, st["unfinished"], len(items))
    # What is known now: unknown outcomes are settled by what the state holds.
    ledger.put_ok |= present & ledger.put_unknown
    ledger.put_unknown.clear()
    ledger.acked |= ledger.ack_unknown - present
    ledger.ack_unknown.clear()


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_sigkill_at_random_moments_loses_nothing_answered(make_daemon, tmp_path, policy):
    rng = random.Random(20261202)
    s = Stateful(make_daemon, tmp_path, "-o", "fsync=" + policy, "-o", "compact_min=64k",
                 "-o", "compact_percent=50")
    ledger = Ledger()
    globals()["_s"] = s
    s.start()
    for rnd in range(ROUNDS):
        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(s.d.sock_path, w, rnd, ledger, stop))
                   for w in range(WRITERS)]
        threads += [threading.Thread(target=consumer, args=(s.d.sock_path, ledger, stop))
                    for _ in range(CONSUMERS)]
        for t in threads:
            t.start()
        # Let them run for a random while (work happens; the kill lands
        # wherever it lands), bounded by progress rather than a bare sleep.
        with ledger.lock:
            target = len(ledger.put_ok) + rng.randint(5, 200)
            assert ledger.lock.wait_for(lambda: len(ledger.put_ok) >= target, timeout=30), \
                "writers made no progress"
        s.kill()
        stop.set()
        for t in threads:
            t.join(30)
            assert not t.is_alive(), "a client thread did not end"
        s.start()
        c = s.connect()
        check(c, ledger, rnd)
        c.close()
        s.d.clients.remove(c)
    assert len(ledger.put_ok) > ROUNDS * 5 and ledger.acked
