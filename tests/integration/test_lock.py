"""lock: threading.Lock and RLock for processes. FIFO acquirers, release by
anyone (plain) or only the owner (reentrant), NOTHELD for a release of a lock
not held, and a holder's connection closing frees the lock for the next in
line, who is told owner_died (unless robust is off: then it stays held)."""
import random
import signal
import threading
import time

import pytest

from actors import Actor, ProcessClient
from ipcd_testlib import NOT_LATE
from ipcwire import E, wait_until
from syncpeers import Peer, cleanup


def waiting(c, name):
    return c.ok("stat", name)["waiting"]


def test_acquire_release_locked(client, client2):
    assert client.ok("lock.locked", "L") is False
    assert client.ok("lock.acquire", "L") == {"owner_died": False}
    assert client.ok("lock.locked", "L") is True
    assert client2.err("lock.acquire", "L", 0) == E.TIMEOUT
    # A plain lock may be released by another connection (threading.Lock).
    assert client2.ok("lock.release", "L") is None
    assert client.ok("lock.locked", "L") is False
    assert client.err("lock.release", "L") == E.NOTHELD
    st = client.ok("stat", "L")
    assert st["type"] == "lock" and st["options"] == {"reentrant": False, "robust": True}
    assert st["locked"] is False and st["holder"] is None and st["acquired"] == 1


def test_plain_lock_is_not_reentrant(client):
    client.ok("lock.acquire", "L")
    t0 = time.monotonic()
    assert client.err("lock.acquire", "L", 0.2) == E.TIMEOUT
    assert time.monotonic() - t0 >= 0.2


def test_rlock_counts_and_only_its_owner_releases(client, client2):
    assert client.ok("create", "R", "lock", {"reentrant": True}) is True
    for _ in range(3):
        assert client.ok("lock.acquire", "R", 0) == {"owner_died": False}
    assert client.ok("stat", "R")["count"] == 3
    assert client2.err("lock.acquire", "R", 0) == E.TIMEOUT
    assert client2.err("lock.release", "R") == E.NOTHELD
    client.ok("lock.release", "R")
    client.ok("lock.release", "R")
    assert client.ok("lock.locked", "R") is True
    client.ok("lock.release", "R")
    assert client.ok("lock.locked", "R") is False
    assert client.err("lock.release", "R") == E.NOTHELD
    assert client2.ok("lock.acquire", "R", 0) == {"owner_died": False}


def test_bad_options(client):
    assert client.err("create", "L", "lock", {"reentrant": 1}) == E.BADARG
    assert client.err("create", "L", "lock", {"size": 1}) == E.BADARG
    client.ok("create", "L", "lock", {"robust": False})
    assert client.ok("create", "L", "lock", {"robust": False}) is False
    assert client.err("create", "L", "lock") == E.EXISTS
    assert client.err("queue.put", "L", 1) == E.WRONGTYPE


def test_waiters_in_fifo_order(daemon, client):
    client.ok("lock.acquire", "L")
    waiters = [daemon.connect(name="w%d" % i) for i in range(5)]
    for i, w in enumerate(waiters):
        w.send("lock.acquire", "L", 30)
        wait_until(lambda: waiting(client, "L") == i + 1, what="waiter %d parked" % i)
    client.ok("lock.release", "L")
    for i, w in enumerate(waiters):
        assert w.recv().result == {"owner_died": False}
        # the others still wait: nobody overtook
        assert waiting(client, "L") == len(waiters) - i - 1
        w.ok("lock.release", "L")
    assert client.ok("lock.locked", "L") is False


def test_waiter_times_out_and_leaves_the_line(daemon, client):
    client.ok("lock.acquire", "L")
    a, b = daemon.connect(name="a"), daemon.connect(name="b")
    t0 = time.monotonic()
    a.send("lock.acquire", "L", 0.3)
    b.send("lock.acquire", "L", 30)
    r = a.recv()
    assert r.status == E.TIMEOUT
    assert time.monotonic() - t0 >= 0.3
    client.ok("lock.release", "L")
    assert b.recv().result == {"owner_died": False}


def test_deleted_while_waiting(daemon, client, client2):
    client.ok("lock.acquire", "L")
    client2.send("lock.acquire", "L", 30)
    wait_until(lambda: waiting(client, "L") == 1)
    client.ok("delete", "L")
    assert client2.recv().status == E.DELETED


def test_holder_killed_next_of_four_waiters_gets_it_told_owner_died(daemon, client):
    peers = []
    try:
        holder = Peer(daemon.sock_path, [["lock.acquire", "L"]], hold=True)
        peers.append(holder)
        assert holder.reply()[:2] == (0, {"owner_died": False})
        waiters = []
        for i in range(4):
            w = Peer(daemon.sock_path, [["lock.acquire", "L", 60], ["list.append", "order", i],
                                        ["lock.release", "L"]])
            peers.append(w)
            waiters.append(w)
            wait_until(lambda: waiting(client, "L") == i + 1, timeout=20, what="waiter %d parked" % i)
        st = client.ok("stat", "L")
        assert st["holder"] == holder.proc.pid and st["holder_connected"] is True
        killed = time.monotonic()
        holder.kill()
        got = [w.reply() for w in waiters]
        # the next in line has it promptly, and is the only one told the holder died
        assert got[0][0] == 0 and got[0][1] == {"owner_died": True}
        assert got[0][2] - killed < NOT_LATE
        for g in got[1:]:
            assert g[0] == 0 and g[1] == {"owner_died": False}
        assert [g[2] for g in got] == sorted(g[2] for g in got)
        for w in waiters:
            w.finish()
        assert client.ok("list.range", "order") == [0, 1, 2, 3]
        st = client.ok("stat", "L")
        assert st["locked"] is False and st["owner_deaths"] == 1 and st["owner_died"] is False
    finally:
        cleanup(peers)


def test_a_dead_holders_lock_reaches_the_next_waiter_within_50_ms(daemon, client):
    """From the SIGKILL to the waiter's reply: the daemon hands the lock on
    as soon as the holder's connection closes, with no timer or polling in
    between. The best of five rounds must be under 50 ms (one round may meet
    a loaded machine); every round under the generous NOT_LATE."""
    took = []
    for round_ in range(5):
        peers = []
        try:
            holder = Peer(daemon.sock_path, [["lock.acquire", "H"]], hold=True)
            peers.append(holder)
            assert holder.reply()[:2] == (0, {"owner_died": False})
            w = Peer(daemon.sock_path, [["lock.acquire", "H", 60], ["lock.release", "H"]])
            peers.append(w)
            wait_until(lambda: waiting(client, "H") == 1, timeout=20, what="the waiter parked")
            killed = time.monotonic()
            holder.proc.send_signal(signal.SIGKILL)
            status, result, came = w.reply()
            assert (status, result) == (0, {"owner_died": True})
            took.append(came - killed)
            assert w.reply()[0] == 0   # its release
            w.finish()
        finally:
            cleanup(peers)
    print("kill to next holder: %s ms" % ", ".join("%.1f" % (t * 1e3) for t in took))
    assert min(took) < 0.05, took
    assert max(took) < NOT_LATE, took


def test_robust_off_keeps_a_dead_holders_lock(daemon, client):
    client.ok("create", "L", "lock", {"robust": False})
    client.ok("create", "R", "lock", {"robust": False, "reentrant": True})
    peers = [Peer(daemon.sock_path, [["lock.acquire", "L"], ["lock.acquire", "R"]], hold=True)]
    try:
        peers[0].reply()
        peers[0].reply()
        pid = peers[0].proc.pid
        peers[0].kill()
        wait_until(lambda: client.ok("stat", "L")["holder_connected"] is False)
        wait_until(lambda: client.ok("stat", "R")["holder_connected"] is False)
        assert client.ok("stat", "L")["holder"] == pid
        assert client.err("lock.acquire", "L", 0) == E.TIMEOUT
        assert client.err("lock.release", "R") == E.NOTHELD   # its owner is gone: held for good
        assert client.ok("lock.locked", "R") is True
        client.ok("lock.release", "L")   # a plain lock: anyone may release it
        assert client.ok("lock.acquire", "L", 0) == {"owner_died": False}
    finally:
        cleanup(peers)


def test_death_with_nobody_waiting_tells_the_next_acquirer(daemon, client, client2):
    client2.ok("lock.acquire", "L")
    client2.close()
    wait_until(lambda: client.ok("lock.locked", "L") is False)
    assert client.ok("lock.acquire", "L") == {"owner_died": True}
    client.ok("lock.release", "L")
    assert client.ok("lock.acquire", "L") == {"owner_died": False}


def test_clients_shows_what_a_connection_holds(client, client2):
    client2.ok("lock.acquire", "L")
    rows = client.ok("clients")[1]
    mine = [r for r in rows if r["name"] == "second"][0]
    assert mine["holds"] == [{"name": "L", "type": "lock", "count": 1}]


@pytest.mark.parametrize("reentrant", [False, True])
def test_same_as_threading_over_a_random_sequence(daemon, reentrant):
    rng = random.Random(1234 + reentrant)
    daemon.connect().ok("create", "M", "lock", {"reentrant": reentrant})
    model = threading.RLock() if reentrant else threading.Lock()
    actors = [Actor(ProcessClient(daemon.sock_path, name="a%d" % i)) for i in range(3)]

    def model_op(op):
        try:
            if op == "acquire":
                return model.acquire(blocking=False)
            if op == "release":
                model.release()
                return None
            return model.locked() if not reentrant else None
        except RuntimeError:
            return "RuntimeError"

    def ipcd_op(op):
        def run(c):
            if op == "acquire":
                r = c.call("lock.acquire", "M", 0)
                return r.status == 0
            if op == "release":
                r = c.call("lock.release", "M")
                return None if r.status == 0 else ("RuntimeError" if r.status == E.NOTHELD else r)
            return c.ok("lock.locked", "M") if not reentrant else None
        return run

    try:
        for step in range(400):
            a = rng.choice(actors)
            op = rng.choice(["acquire", "release", "locked"])
            want = a.run(lambda c: model_op(op))
            got = a.run(ipcd_op(op))
            assert got == want, "step %d: %s by actor %d" % (step, op, actors.index(a))
    finally:
        for a in actors:
            a.stop()
