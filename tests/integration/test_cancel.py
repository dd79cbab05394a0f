"""cancel: a client that gives up a waiting request (its user pressed
Ctrl-C) ends it on the same connection, keeping that connection and what it
holds. Sent right after the waiting request, it ends that wait at once, as
its timeout would; the wait answers first, then the cancel says whether it
ended one. Anything else after a waiting request still waits its turn."""
import time

from ipcwire import E, request_bytes, wait_until
from ipcd_testlib import NOT_LATE


def entry(c, cid):
    """Connection cid as clients shows it."""
    _, conns = c.ok("clients")
    (me,) = [x for x in conns if x["id"] == cid]
    return me


def blocked(c, cid):
    """What connection cid waits on, or None."""
    return entry(c, cid)["blocked"]


def own_id(c):
    _, conns = c.ok("clients")
    return [x["id"] for x in conns if x["self"]][0]


def test_a_cancel_ends_a_waiting_get_and_the_connection_goes_on(daemon, client):
    w = daemon.connect(name="w")
    wid = own_id(w)
    assert w.ok("lock.acquire", "other") == {"owner_died": False}
    rid = w.send("queue.get", "q")                  # waits for good
    wait_until(lambda: blocked(client, wid) is not None)
    t0 = time.monotonic()
    cid = w.send("cancel")
    r = w.recv()
    assert (r.id, r.status) == (rid, E.TIMEOUT)      # answered as its timeout would
    r = w.recv()
    assert (r.id, r.status, r.result) == (cid, 0, True)
    assert time.monotonic() - t0 < NOT_LATE
    assert blocked(client, wid) is None
    # the same connection, still holding its lock; the get took nothing
    assert client.ok("stat", "other")["locked"] is True
    client.ok("queue.put", "q", 1)
    assert client.ok("queue.qsize", "q") == 1
    assert w.ok("queue.get", "q", 1) == 1
    w.ok("lock.release", "other")


def test_a_cancel_with_nothing_waiting_answers_false(client):
    assert client.ok("cancel") is False
    assert client.err("queue.get", "q", 0.01) == E.TIMEOUT
    assert client.ok("cancel") is False          # a wait already answered is not ended


def test_a_cancel_sent_with_its_wait_in_one_write_ends_it(daemon, client):
    w = daemon.connect(name="w")
    w.send_raw(request_bytes(1, "lock.acquire", "L") + request_bytes(2, "cancel"))
    assert [tuple(w.recv())[:1] for _ in range(2)] == [(0,), (0,)]   # free: taken, nothing to end
    o = daemon.connect(name="o")
    o.send_raw(request_bytes(1, "lock.acquire", "L") + request_bytes(2, "cancel"))
    r1, r2 = o.recv(), o.recv()
    assert (r1.id, r1.status) == (1, E.TIMEOUT) and (r2.id, r2.result) == (2, True)
    assert client.ok("stat", "L")["waiting"] == 0


def test_only_a_cancel_right_after_the_wait_ends_it(daemon, client):
    w = daemon.connect(name="w")
    wid = own_id(w)
    w.send("queue.get", "q")
    wait_until(lambda: blocked(client, wid) is not None)
    before = entry(client, wid)["bytes_in"]
    w.send_raw(request_bytes(10, "ping") + request_bytes(11, "cancel"))   # the cancel waits its turn
    sent = len(request_bytes(10, "ping") + request_bytes(11, "cancel"))
    wait_until(lambda: entry(client, wid)["bytes_in"] == before + sent)   # both read by the daemon
    assert blocked(client, wid)["op"] == "queue.get"
    client.ok("queue.put", "q", "x")
    assert [(r.status, r.result) for r in (w.recv(), w.recv(), w.recv())] == [(0, "x"), (0, "pong"), (0, False)]


def test_a_cancelled_event_wait_answers_false(daemon, client):
    w = daemon.connect(name="w")
    wid = own_id(w)
    w.send("event.wait", "ev")
    wait_until(lambda: blocked(client, wid) is not None)
    w.send("cancel")
    assert (w.recv().result, w.recv().result) == (False, True)


def test_a_cancelled_barrier_wait_breaks_the_barrier_as_a_timeout_does(daemon, client):
    w = daemon.connect(name="w")
    wid = own_id(w)
    client.ok("create", "b", "barrier", {"parties": 2})
    w.send("barrier.wait", "b")
    wait_until(lambda: blocked(client, wid) is not None)
    w.send("cancel")
    r = w.recv()
    assert r.status == E.BROKEN and w.recv().result is True
    assert client.ok("barrier.broken", "b") is True


def test_a_cancelled_condition_wait_takes_its_lock_back_first(daemon, client):
    w = daemon.connect(name="w")
    wid = own_id(w)
    w.ok("condition.acquire", "C")
    w.ok("condition.acquire", "C")
    w.send("condition.wait", "C")
    wait_until(lambda: client.ok("stat", "C")["locked"] is False)
    client.ok("condition.acquire", "C")             # the lock is busy: the ended wait waits for it
    w.send("cancel")
    wait_until(lambda: client.ok("stat", "C")["waiters"][0]["phase"] == "timed_out")
    assert blocked(client, wid)["op"] == "condition.wait"
    client.ok("condition.release", "C")
    assert w.recv().result == {"notified": False, "owner_died": False}
    assert w.recv().result is True
    st = client.ok("stat", "C")
    assert st["locked"] is True and st["count"] == 2 and st["waiters"] == []


def test_a_monitor_is_not_cancelled(daemon, client):
    m = daemon.connect(name="m")
    assert m.ok("monitor") is True
    m.send("cancel")
    client.ok("ping")
    ev = m.recv()
    assert ev.status == 0 and ev.result["op"] == "ping"     # still streaming; the cancel never runs
