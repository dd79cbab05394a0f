"""Queues: FIFO, non-blocking and blocking put/get, timeouts, maxsize,
put_many/get_many, fairness among waiters, disconnects, deletion while
waiting, canonical storage of values."""
import select
import time

import pytest

from ipcwire import E, OPS, frame, nested, pack, wait_until, held_memory
from ipcd_testlib import NOT_LATE



def held(c, name="q"):
    """What max_memory counts less queue name's room (its empty slots and
    the unused part of its runs, which `stat` shows as `room`): its object,
    name, values and items, exact to the byte."""
    return held_memory(c) - c.ok("stat", name)["room"]


def timed(c, op, *args):
    t0 = time.monotonic()
    r = c.call(op, *args)
    return r, time.monotonic() - t0


def waiting(c, name):
    return c.ok("stat", name)["waiting"]


def park(observer, conn, op, name, *args):
    """Send a request from conn that must wait, and make sure it is parked
    (the object's waiting count grew) before going on."""
    before = waiting(observer, name) if observer.ok("exists", name) else 0
    rid = conn.send(op, name, *args)
    wait_until(lambda: observer.ok("exists", name) and waiting(observer, name) == before + 1,
               what="%s on %s to park" % (op, name))
    return rid


def no_reply_pending(c):
    """True if nothing is readable on c right now."""
    return select.select([c.sock], [], [], 0)[0] == [] and not c.rbuf


# ---- basics ---------------------------------------------------------------------

def test_fifo(client):
    items = [1, "two", [3], {"four": 4}, None, b"\x05", 6.5, True, -7, ""]
    for i, v in enumerate(items):
        assert client.ok("queue.put", "q", v) == i + 1
    assert client.ok("queue.qsize", "q") == len(items)
    assert client.ok("dump", "q") == items
    for i, v in enumerate(items):
        assert client.ok("queue.get", "q") == v
        assert client.ok("queue.qsize", "q") == len(items) - i - 1
    assert client.err("queue.get", "q", 0) == E.EMPTY


def test_fifo_across_packed_runs_and_bare_values(client):
    """Small scalars are packed back to back in runs of about 4 KB, larger
    values and containers stay apart; the order, dump, get_many, nack back
    to the head and memory accounting must not see the difference."""
    client.ok("create", "q", "queue")
    base = held(client)      # the empty queue's own cost, its room aside
    def val(i):
        if i % 97 == 0:
            return "L" * (300 + i % 7)            # too large for a run
        if i % 89 == 0:
            return [i, "c"]                       # containers stay bare
        return [i, "s" * (i % 40), b"b" * (i % 5), -i, i * 1.5, None, True][i % 7]
    items = [val(i) for i in range(3000)]
    client.ok("queue.put_many", "q", items[:1000])
    for v in items[1000:2000]:
        client.ok("queue.put", "q", v)
    client.ok("queue.put_many", "q", items[2000:])
    assert client.ok("queue.qsize", "q") == 3000
    assert client.ok("dump", "q") == items
    assert client.ok("queue.get_many", "q", 500) == items[:500]
    d = client.ok("queue.get_ack", "q", 0)          # a packed value leaves its run
    assert d["value"] == items[500]
    client.ok("queue.nack", "q", d["id"])           # and comes back at the head
    assert client.ok("dump", "q") == items[500:]
    got = [client.ok("queue.get", "q") for _ in range(1000)]
    assert got == items[500:1500]
    client.ok("queue.put", "q", "tail")
    assert client.ok("queue.get_many", "q", 10000) == items[1500:] + ["tail"]
    assert held(client) == base
    client.ok("queue.put_many", "q", items)
    assert client.ok("queue.clear", "q") == 3000
    assert held(client) == base


def test_runs_of_one_shape_share_their_header(client):
    """Values of one msgpack shape (type and length) share one header in a
    run: 1,000 16-byte bins cost their 16 bytes each. A value of another
    shape writes the headers out of a short run, or starts a new run after a
    long one; order, dump, gets and memory must not see the difference."""
    client.ok("create", "q", "queue")
    base = held(client)      # the empty queue's own cost, its room aside
    rec = [bytes([i % 256]) * 16 for i in range(1000)]
    client.ok("queue.put_many", "q", rec)
    assert held(client) == base + 16 * 1000
    assert client.ok("dump", "q") == rec
    assert client.ok("queue.get_many", "q", 1000) == rec
    assert held(client) == base

    # a short shared run meets other shapes: its headers are written out
    short = [b"a" * 16, b"b" * 16, b"c" * 16, 300, b"d" * 16, "e" * 16, 7]
    for v in short:
        client.ok("queue.put", "q", v)
    assert client.ok("dump", "q") == short
    assert held(client) == base + 18 * 3 + 3 + 18 + 17 + 1
    # a long one is kept and a new run starts
    long_run = [b"%016d" % i for i in range(40)] + ["x"] + [b"%016d" % i for i in range(40, 80)]
    client.ok("queue.put_many", "q", long_run)
    assert client.ok("dump", "q") == short + long_run
    d = client.ok("queue.get_ack", "q", 0)          # a value leaves a run...
    assert d["value"] == short[0]
    client.ok("queue.nack", "q", d["id"])           # ...and comes back at the head
    got = [client.ok("queue.get", "q") for _ in range(10)]
    assert got == (short + long_run)[:10]
    assert client.ok("queue.get_many", "q", 1000) == (short + long_run)[10:]
    assert held(client) == base


def test_runs_against_a_model(client):
    """Random puts, put_manys, gets, get_manys and acked gets of values of a
    few shapes (so that runs share headers, write them out and close) give
    what a plain list gives."""
    client.ok("create", "q", "queue")
    base = held(client)      # the empty queue's own cost, its room aside
    import random
    rnd = random.Random(6)
    shapes = [lambda i: b"%016d" % i, lambda i: "s%07d" % i, lambda i: i * 1000 + 70000,
              lambda i: i % 100, lambda i: float(i), lambda i: b"%d" % i, lambda i: None]
    model, n = [], 0
    for _ in range(3000):
        op = rnd.random()
        if op < 0.35:
            shape = rnd.choice(shapes)
            vals = [shape(n + j) for j in range(rnd.choice([1, 1, 5, 50]))]
            n += len(vals)
            if len(vals) == 1:
                client.ok("queue.put", "q", vals[0])
            else:
                client.ok("queue.put_many", "q", vals)
            model += vals
        elif op < 0.6 and model:
            assert client.ok("queue.get", "q", 0) == model.pop(0)
        elif op < 0.8 and model:
            k = rnd.randint(1, 30)
            assert client.ok("queue.get_many", "q", k, 0) == model[:k]
            del model[:k]
        elif model:
            d = client.ok("queue.get_ack", "q", 0)
            assert d["value"] == model[0]
            if rnd.random() < 0.5:
                client.ok("queue.ack", "q", d["id"])
                model.pop(0)
            else:
                client.ok("queue.nack", "q", d["id"])
    assert client.ok("dump", "q") == model
    assert client.ok("queue.qsize", "q") == len(model)
    client.ok("queue.clear", "q")
    assert held(client) == base


def test_put_and_get_by_code(client):
    assert client.ok(OPS["queue.put"].code, "q", {"id": 7}) == 1
    assert client.ok(OPS["queue.get"].code, "q", 0) == {"id": 7}


def test_get_nonblocking_on_empty_is_empty(client):
    assert client.err("queue.get", "q", 0) == E.EMPTY
    assert client.err("queue.get", "q", 0.0) == E.EMPTY
    assert client.err("queue.get_many", "q", 3, 0) == E.EMPTY
    # It did not wait, so it left no object behind.
    assert client.ok("exists", "q") is False
    assert client.ok("queue.qsize", "q") == 0


def test_qsize_of_missing_queue_is_zero(client):
    assert client.ok("queue.qsize", "nothing") == 0
    assert client.ok("exists", "nothing") is False


def test_clear(client):
    assert client.ok("queue.clear", "q") == 0
    client.ok("queue.put_many", "q", list(range(10)))
    assert client.ok("queue.clear", "q") == 10
    assert client.ok("queue.qsize", "q") == 0
    assert client.ok("queue.clear", "q") == 0
    client.ok("queue.put", "q", "after")
    assert client.ok("queue.get", "q", 0) == "after"


def test_values_survive_intact(client):
    big = "x" * 1_000_000
    blob = bytes(range(256)) * 100
    client.ok("queue.put", "q", big)
    client.ok("queue.put", "q", blob)
    client.ok("queue.put", "q", nested(24))
    assert client.ok("queue.get", "q") == big
    assert client.ok("queue.get", "q") == blob
    assert client.ok("queue.get", "q") == nested(24)


def test_value_too_deep_is_badvalue(client):
    assert client.err("queue.put", "q", nested(25)) == E.BADVALUE
    assert client.err("queue.put", "q", nested(30, 1)) == E.BADVALUE
    assert client.err("queue.put_many", "q", [1, nested(25), 3]) == E.BADVALUE
    assert client.ok("queue.qsize", "q") == 0
    assert client.ok("queue.put", "q", nested(24)) == 1
    assert client.ok("queue.put", "q", nested(23, "leaf")) == 2


# ---- blocking get -----------------------------------------------------------------

def test_get_blocks_forever_until_a_put_from_another_connection(daemon, client):
    getter = daemon.connect()
    rid = park(client, getter, "queue.get", "q")          # no timeout: forever
    assert no_reply_pending(getter)
    assert client.ok("queue.put", "q", "wake") == 0   # handed to the getter at once
    r = getter.recv()
    assert (r.id, r.status, r.result) == (rid, 0, "wake")
    assert client.ok("queue.qsize", "q") == 0


def test_get_with_nil_timeout_waits_forever(daemon, client):
    getter = daemon.connect()
    park(client, getter, "queue.get", "q", None)
    client.ok("queue.put", "q", 1)
    assert getter.recv().result == 1


def test_get_with_huge_timeout_waits(daemon, client):
    getter = daemon.connect()
    park(client, getter, "queue.get", "q", 2**64 - 1)
    getter2 = daemon.connect()
    park(client, getter2, "queue.get", "q", 1e300)
    getter3 = daemon.connect()
    park(client, getter3, "queue.get", "q", float("inf"))
    client.ok("queue.put_many", "q", [1, 2, 3])
    assert getter.recv().result == 1
    assert getter2.recv().result == 2
    assert getter3.recv().result == 3


@pytest.mark.parametrize("timeout", [0.1, 0.25, 1])
def test_get_timeout_is_honoured(client, timeout):
    r, waited = timed(client, "queue.get", "q", timeout)
    assert r.status == E.TIMEOUT
    assert timeout <= waited < timeout + NOT_LATE, waited
    assert client.ok("ping") == "pong"


def test_get_many_timeout_is_honoured(client):
    r, waited = timed(client, "queue.get_many", "q", 5, 0.2)
    assert r.status == E.TIMEOUT
    assert 0.2 <= waited < 0.2 + NOT_LATE, waited


def test_timeouts_never_fire_early(client):
    """A wait never ends before its timeout, whatever the phase of the
    kernel's clock tick (a coarse clock made them end up to 4 ms early)."""
    for i in range(30):
        t = 0.004 * (1 + i % 5)    # whole ticks of a 250 Hz clock: the worst case
        r, waited = timed(client, "queue.get", "q", t)
        assert r.status == E.TIMEOUT
        assert waited >= t, (t, waited)


def test_get_with_timeout_woken_before_it_expires(daemon, client):
    getter = daemon.connect()
    t0 = time.monotonic()
    park(client, getter, "queue.get", "q", 5)
    client.ok("queue.put", "q", "soon")
    r = getter.recv()
    assert (r.status, r.result) == (0, "soon")
    assert time.monotonic() - t0 < 5
    # The cancelled timer must not fire later into the next request.
    r, waited = timed(getter, "queue.get", "q", 0.1)
    assert r.status == E.TIMEOUT and waited < 0.1 + NOT_LATE


def test_parked_connection_processes_nothing_else(daemon, client):
    getter = daemon.connect()
    from ipcwire import request_bytes
    getter.send_raw(request_bytes(1, "queue.get", "q") + request_bytes(2, "ping", "later")
                    + request_bytes(3, "queue.qsize", "q"))
    wait_until(lambda: client.ok("exists", "q") and waiting(client, "q") == 1, what="get to park")
    client.ok("ping")  # a round trip after the park, so a wrong early reply would be here
    assert no_reply_pending(getter)
    client.ok("queue.put_many", "q", ["first", "second"])
    assert [(r.id, r.status, r.result) for r in (getter.recv(), getter.recv(), getter.recv())] == \
        [(1, 0, "first"), (2, 0, "later"), (3, 0, 1)]


def test_blocked_getters_are_served_in_fifo_order(daemon, client):
    getters = [daemon.connect(name="g%d" % i) for i in range(3)]
    rids = [park(client, g, "queue.get", "q") for g in getters]
    for item in ("a", "b", "c"):
        client.ok("queue.put", "q", item)
    for g, rid, item in zip(getters, rids, ("a", "b", "c")):
        r = g.recv()
        assert (r.id, r.status, r.result) == (rid, 0, item)
    assert client.ok("queue.qsize", "q") == 0


def test_fifo_order_with_put_many_and_get_many_waiters(daemon, client):
    g1, g2, g3 = (daemon.connect() for _ in range(3))
    park(client, g1, "queue.get_many", "q", 2)
    park(client, g2, "queue.get", "q")
    park(client, g3, "queue.get_many", "q", 10)
    client.ok("queue.put_many", "q", [1, 2, 3, 4, 5, 6])
    assert g1.recv().result == [1, 2]
    assert g2.recv().result == 3
    assert g3.recv().result == [4, 5, 6]
    assert client.ok("queue.qsize", "q") == 0


def test_getter_that_disconnects_loses_its_place_and_nothing_else(daemon, client):
    g1, g2, g3 = (daemon.connect() for _ in range(3))
    park(client, g1, "queue.get", "q")
    park(client, g2, "queue.get", "q")
    park(client, g3, "queue.get", "q")
    g2.close()
    wait_until(lambda: waiting(client, "q") == 2, what="the hung-up getter to leave")
    client.ok("queue.put", "q", "x")
    client.ok("queue.put", "q", "y")
    assert g1.recv().result == "x"
    assert g3.recv().result == "y"   # g2's item went to the next waiter
    assert client.ok("queue.qsize", "q") == 0
    client.ok("queue.put", "q", "z")
    assert client.ok("queue.qsize", "q") == 1


def test_getter_disconnecting_with_half_closed_socket(daemon, client):
    g = daemon.connect()
    park(client, g, "queue.get", "q")
    import socket
    g.sock.shutdown(socket.SHUT_WR)
    # The queue existed for that getter only: it goes with it.
    wait_until(lambda: not client.ok("exists", "q"), what="the half-closed getter to leave")
    client.ok("queue.put", "q", 1)
    assert client.ok("queue.qsize", "q") == 1


# ---- maxsize and blocking put -------------------------------------------------------

def test_put_blocks_when_full_and_is_released_by_a_get(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 2})
    client.ok("queue.put", "q", 1)
    client.ok("queue.put", "q", 2)
    putter = daemon.connect()
    rid = park(client, putter, "queue.put", "q", 3)
    assert no_reply_pending(putter)
    assert client.ok("queue.qsize", "q") == 2
    assert client.ok("queue.get", "q") == 1
    r = putter.recv()
    assert (r.id, r.status, r.result) == (rid, 0, 2)
    assert client.ok("dump", "q") == [2, 3]


def test_put_with_timeout_zero_on_full_queue_is_full(client):
    client.ok("create", "q", "queue", {"maxsize": 1})
    assert client.ok("queue.put", "q", "a", 0) == 1
    assert client.err("queue.put", "q", "b", 0) == E.FULL
    assert client.err("queue.put_many", "q", ["b"], 0) == E.FULL
    assert client.ok("dump", "q") == ["a"]


def test_put_timeout_is_honoured(client):
    client.ok("create", "q", "queue", {"maxsize": 2})
    client.ok("queue.put_many", "q", ["a", "b"])
    r, waited = timed(client, "queue.put", "q", "c", 0.2)
    assert r.status == E.TIMEOUT
    assert 0.2 <= waited < 0.2 + NOT_LATE, waited
    client.ok("queue.get", "q")
    r, waited = timed(client, "queue.put_many", "q", ["c", "d"], 0.1)  # room for 1 of 2
    assert r.status == E.TIMEOUT
    assert 0.1 <= waited < 0.1 + NOT_LATE, waited
    assert client.ok("dump", "q") == ["b"]


def test_put_many_is_all_or_nothing(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 3})
    client.ok("queue.put_many", "q", [1, 2, 3])
    putter = daemon.connect()
    rid = park(client, putter, "queue.put_many", "q", [4, 5])
    assert client.ok("queue.get", "q") == 1       # room for 1: not enough
    assert client.ok("dump", "q") == [2, 3]
    assert no_reply_pending(putter)
    assert client.ok("queue.get", "q") == 2       # room for 2: both go in together
    r = putter.recv()
    assert (r.id, r.status, r.result) == (rid, 0, 3)
    assert client.ok("dump", "q") == [3, 4, 5]


def test_waiting_putter_keeps_its_place(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 3})
    client.ok("queue.put_many", "q", [1, 2, 3])
    big = daemon.connect()
    park(client, big, "queue.put_many", "q", ["b1", "b2"])
    client.ok("queue.get", "q")
    # Room for one, but the bigger putter waits ahead: a small put queues behind it.
    assert client.err("queue.put", "q", "small", 0) == E.FULL
    small = daemon.connect()
    park(client, small, "queue.put", "q", "small")
    client.ok("queue.get", "q")
    assert big.recv().result == 3
    assert client.ok("queue.get", "q") == 3
    assert small.recv().result == 3
    assert client.ok("dump", "q") == ["b1", "b2", "small"]


def test_put_many_more_than_maxsize_is_full_at_once(client):
    client.ok("create", "q", "queue", {"maxsize": 2})
    r, waited = timed(client, "queue.put_many", "q", [1, 2, 3])  # no timeout: would wait forever
    assert r.status == E.FULL
    assert waited < 1
    assert client.ok("queue.qsize", "q") == 0
    assert client.ok("queue.put_many", "q", [1, 2]) == 2


def test_put_many_empty_and_unbounded(client):
    assert client.ok("queue.put_many", "q", []) == 0
    assert client.ok("queue.put_many", "q", list(range(1000))) == 1000
    assert client.ok("queue.put_many", "q", []) == 1000
    assert client.ok("dump", "q") == list(range(1000))


def test_clear_releases_waiting_putters(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 1})
    client.ok("queue.put", "q", "old")
    putter = daemon.connect()
    park(client, putter, "queue.put", "q", "new")
    assert client.ok("queue.clear", "q") == 1
    assert putter.recv().result == 1
    assert client.ok("dump", "q") == ["new"]


def test_put_hands_item_straight_to_waiting_getter_on_bounded_queue(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 1})
    getter = daemon.connect()
    park(client, getter, "queue.get", "q")
    client.ok("queue.put", "q", "a")
    assert getter.recv().result == "a"
    assert client.ok("queue.put", "q", "b", 0) == 1


def test_putters_served_in_fifo_order(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 1})
    client.ok("queue.put", "q", 0)
    putters = [daemon.connect() for _ in range(3)]
    for i, p in enumerate(putters):
        park(client, p, "queue.put", "q", i + 1)
    for i in range(4):
        assert client.ok("queue.get", "q") == i
        if i < 3:
            assert putters[i].recv().status == 0
    assert client.ok("queue.qsize", "q") == 0


def test_putter_that_disconnects_adds_nothing(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 1})
    client.ok("queue.put", "q", "kept")
    p1, p2 = daemon.connect(), daemon.connect()
    park(client, p1, "queue.put", "q", "lost")
    park(client, p2, "queue.put", "q", "next")
    p1.close()
    wait_until(lambda: waiting(client, "q") == 1, what="the hung-up putter to leave")
    assert client.ok("queue.get", "q") == "kept"
    assert p2.recv().status == 0
    assert client.ok("dump", "q") == ["next"]
    assert held_memory(client) > 0
    client.ok("delete", "q")
    assert held_memory(client) == 0


# ---- get_many ---------------------------------------------------------------------

def test_get_many_returns_one_to_n(client):
    client.ok("queue.put_many", "q", [1, 2, 3, 4, 5])
    assert client.ok("queue.get_many", "q", 2) == [1, 2]
    assert client.ok("queue.get_many", "q", 10) == [3, 4, 5]
    assert client.err("queue.get_many", "q", 10, 0) == E.EMPTY
    client.ok("queue.put", "q", 6)
    assert client.ok("queue.get_many", "q", 1) == [6]
    client.ok("queue.put", "q", 7)
    assert client.ok("queue.get_many", "q", 2**32 - 1) == [7]


def test_get_many_waits_only_while_empty(daemon, client):
    getter = daemon.connect()
    park(client, getter, "queue.get_many", "q", 3)
    client.ok("queue.put", "q", "only")
    assert getter.recv().result == ["only"]


def test_get_many_count_zero_is_badarg(client):
    client.ok("queue.put", "q", 1)
    assert client.err("queue.get_many", "q", 0) == E.BADARG
    assert client.ok("queue.qsize", "q") == 1


@pytest.mark.parametrize("count", [2**32 - 1, 2**32, 2**63, 2**64 - 1])
def test_get_many_with_a_huge_count_takes_what_there_is(client, count):
    # COUNT is a uint; only 0 is refused (PROTOCOL.md 8.3).
    client.ok("queue.put_many", "q", [1, 2, 3])
    assert client.ok("queue.get_many", "q", count) == [1, 2, 3]


# ---- deleted while waiting ------------------------------------------------------------

def test_delete_wakes_waiting_getter_with_deleted(daemon, client):
    getter = daemon.connect()
    from ipcwire import request_bytes
    getter.send_raw(request_bytes(1, "queue.get", "q") + request_bytes(2, "ping"))
    wait_until(lambda: client.ok("exists", "q") and waiting(client, "q") == 1, what="get to park")
    assert client.ok("delete", "q") is None
    r = getter.recv()
    assert (r.id, r.status) == (1, E.DELETED)
    r = getter.recv()
    assert (r.id, r.status, r.result) == (2, 0, "pong")   # the connection goes on
    assert client.ok("exists", "q") is False


def test_delete_wakes_every_waiter_with_deleted(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 1})
    client.ok("create", "e", "queue")
    client.ok("queue.put", "q", 1)
    putters = [daemon.connect() for _ in range(2)]
    for p in putters:
        park(client, p, "queue.put_many", "q", [2])
    getters = [daemon.connect() for _ in range(2)]
    for g in getters:
        park(client, g, "queue.get_many", "e", 1, 30)
    client.ok("delete", "q")
    client.ok("delete", "e")
    for c in putters + getters:
        assert c.recv().status == E.DELETED
        assert c.ok("ping") == "pong"
    assert held_memory(client) == 0


def test_waiting_get_on_recreated_name_is_not_confused(daemon, client):
    getter = daemon.connect()
    park(client, getter, "queue.get", "q")
    client.ok("delete", "q")
    assert getter.recv().status == E.DELETED
    client.ok("queue.put", "q", "new")
    assert getter.ok("queue.get", "q", 0) == "new"


# ---- canonical storage -------------------------------------------------------------------

def raw_request(rid, op, *parts):
    """A request frame whose arguments are given as raw msgpack bytes."""
    assert len(parts) + 2 < 16
    body = bytes([0x90 | (len(parts) + 2)]) + pack(rid) + pack(op) + b"".join(parts)
    return frame(body)


@pytest.mark.parametrize("sent,canonical", [
    (b"\xcd\x00\x01", b"\x01"),                        # uint16 1 -> fixint
    (b"\xcf" + (5).to_bytes(8, "big"), b"\x05"),        # uint64 5
    (b"\xd3" + (7).to_bytes(8, "big"), b"\x07"),        # int64 7: non-negative as unsigned
    (b"\xd0\xff", b"\xff"),                            # int8 -1 -> negative fixint
    (b"\xd1\xff\x00", b"\xd1\xff\x00"),                # int16 -256 stays int16
    (b"\xd2\xff\xff\xff\x80", b"\xd0\x80"),            # int32 -128 -> int8
    (b"\xcc\x80", b"\xcc\x80"),                        # uint8 128 is already shortest
    (b"\xca\x3f\xc0\x00\x00", b"\xcb\x3f\xf8" + b"\x00" * 6),  # float32 1.5 -> float64
    (b"\xd9\x02ab", b"\xa2ab"),                        # str8 -> fixstr
    (b"\xda\x00\x01z", b"\xa1z"),                      # str16 -> fixstr
    (b"\xc5\x00\x01A", b"\xc4\x01A"),                  # bin16 -> bin8
    (b"\xdc\x00\x02\x01\xcd\x00\x02", b"\x92\x01\x02"),  # array16 of non-canonical ints
    (b"\xde\x00\x01\xd9\x01k\xcc\x05", b"\x81\xa1k\x05"),  # map16 {str8 k: uint8 5}
    (b"\xc7\x01\x05A", b"\xd4\x05A"),                  # ext8 of 1 byte -> fixext1
    (b"\x82\xa1b\x01\xa1a\x02", b"\x82\xa1b\x01\xa1a\x02"),  # map order kept
])
def test_values_are_stored_canonically(client, sent, canonical):
    client.send_raw(raw_request(50, "queue.put", pack("q"), sent))
    r = client.recv()
    assert (r.id, r.status, r.result) == (50, 0, 1)
    client.send("queue.get", "q", rid=51)
    r = client.recv()
    assert r.status == 0
    assert r.raw == b"\x93" + pack(51) + b"\x00" + canonical


def test_canonical_equality_of_dict_keys_sent_as_fixint_and_uint16(client):
    # The same key 1, once as a positive fixint and once as a uint16.
    client.send_raw(raw_request(1, "dict.set", pack("d"), b"\x01", pack("fixint")))
    assert client.recv().status == 0
    client.send_raw(raw_request(2, "dict.set", pack("d"), b"\xcd\x00\x01", pack("uint16")))
    assert client.recv().status == 0
    assert client.ok("dict.len", "d") == 1
    assert client.ok("dict.get", "d", 1) == "uint16"
    client.send_raw(raw_request(3, "dict.get", pack("d"), b"\xcf" + (1).to_bytes(8, "big")))
    assert client.recv().result == "uint16"
    # And as queue items: a uint16 1 and a fixint 1 come back byte-identical.
    client.send_raw(raw_request(4, "queue.put", pack("q"), b"\xcd\x00\x01"))
    client.send_raw(raw_request(5, "queue.put", pack("q"), b"\x01"))
    assert [client.recv().status for _ in range(2)] == [0, 0]
    a, b = client.call("queue.get", "q"), client.call("queue.get", "q")
    assert a.raw[-1:] == b.raw[-1:] == b"\x01"


# ---- argument errors ------------------------------------------------------------------

@pytest.mark.parametrize("op,args", [
    ("queue.put", ("q",)),
    ("queue.put", ("q", 1, None, 4)),
    ("queue.put", ("q", 1, -1)),
    ("queue.put", ("q", 1, -0.5)),
    ("queue.put", ("q", 1, "1")),
    ("queue.put", ("q", 1, True)),
    ("queue.put", ("q", 1, float("nan"))),
    ("queue.get", ()),
    ("queue.get", ("q", -1)),
    ("queue.get", ("q", "bad")),
    ("queue.get", ("q", 0, 0)),
    ("queue.put_many", ("q", 1)),
    ("queue.put_many", ("q", {"a": 1})),
    ("queue.put_many", ("q",)),
    ("queue.get_many", ("q",)),
    ("queue.get_many", ("q", -1)),
    ("queue.get_many", ("q", 1.0)),
    ("queue.get_many", ("q", "1")),
    ("queue.get_many", ("q", 1, -1)),
    ("queue.qsize", ()),
    ("queue.qsize", ("q", 1)),
    ("queue.clear", ()),
    ("queue.clear", ("q", 1)),
])
def test_bad_arguments(client, op, args):
    r, waited = timed(client, op, *args)
    assert r.status == E.BADARG, r
    assert waited < 1
    assert client.ok("exists", "q") is False
    assert client.ok("ping") == "pong"


@pytest.mark.parametrize("op,args", [("queue.put", (1,)), ("queue.get", (0,)), ("queue.put_many", ([1],)),
                                     ("queue.get_many", (1, 0)), ("queue.qsize", ()), ("queue.clear", ())])
def test_bad_names(client, op, args):
    assert client.err(op, 1, *args) == E.BADNAME   # not a str
    assert client.err(op, "", *args) == E.BADNAME
    assert client.err(op, "n" * 256, *args) == E.BADNAME
    assert client.ok("ls") == [0, []]


def test_timed_out_request_lets_pipelined_requests_run(client):
    from ipcwire import request_bytes
    client.send_raw(request_bytes(1, "queue.get", "q", 0.05) + request_bytes(2, "queue.put", "q", "p")
                    + request_bytes(3, "queue.get", "q", 0.05))
    replies = [client.recv() for _ in range(3)]
    assert [(r.id, r.status) for r in replies] == [(1, E.TIMEOUT), (2, 0), (3, 0)]
    assert replies[2].result == "p"


def test_memory_is_returned_after_waits_timeouts_and_deletes(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 2})
    base = held(client)      # the empty queue's own cost, its room aside
    client.ok("queue.put_many", "q", ["a" * 100, "b" * 100])
    assert client.err("queue.put_many", "q", ["c" * 100], 0.01) == E.TIMEOUT
    p = daemon.connect()
    park(client, p, "queue.put_many", "q", ["d" * 100, "e" * 100])
    client.ok("queue.get_many", "q", 2)
    assert p.recv().result == 2
    client.ok("queue.clear", "q")
    assert held(client) == base
