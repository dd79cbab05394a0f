"""Lists, checked against Python's list on the same operations: indexes,
negative indexes, slices, search; blocking pops and their timeouts."""
import itertools
import random
import time

import pytest

from ipcwire import E, frame, nested, pack, wait_until, held_memory
from ipcd_testlib import NOT_LATE

BIG = 2**63 - 1
SMALL = -2**63

# Values whose Python equality is the same as ipcd's canonical equality
# (no bools next to ints, no floats equal to ints, no multi-key maps).
POOL = [0, 1, 2, 3, -1, 1.5, "a", "b", "", None, [1], [1, [2]], {"k": 1}, b"x", 2**64 - 1]


class Model:
    """Python's list, answering like ipcd: (status, result)."""

    def __init__(self):
        self.l = []

    def append(self, v):
        self.l.append(v)
        return 0, len(self.l)

    def extend(self, vs):
        self.l.extend(vs)
        return 0, len(self.l)

    def insert(self, i, v):
        self.l.insert(i, v)
        return 0, len(self.l)

    def pop(self, *i):
        try:
            return 0, self.l.pop(*i)
        except IndexError:
            return E.INDEX, None

    def remove(self, v):
        try:
            self.l.remove(v)
            return 0, None
        except ValueError:
            return E.NOVALUE, None

    def index(self, v, start=None, stop=None):
        lo, hi, _ = slice(start, stop).indices(len(self.l))
        for i in range(lo, hi):
            if self.l[i] == v:
                return 0, i
        return E.NOVALUE, None

    def count(self, v):
        return 0, self.l.count(v)

    def get(self, i):
        try:
            return 0, self.l[i]
        except IndexError:
            return E.INDEX, None

    def set(self, i, v):
        try:
            self.l[i] = v
            return 0, None
        except IndexError:
            return E.INDEX, None

    def range(self, start=None, stop=None):
        return 0, self.l[start:stop]

    def len(self):
        return 0, len(self.l)

    def clear(self):
        self.l.clear()
        return 0, None

    def reverse(self):
        self.l.reverse()
        return 0, None

    def contains(self, v):
        return 0, v in self.l


def check(c, model, op, *args):
    """Run op on ipcd's list "l" and on the model; they must agree."""
    want_st, want = getattr(model, op)(*args)
    r = c.call("list." + op, "l", *args)
    assert r.status == want_st, ("list.%s%r" % (op, args), r, want_st, model.l)
    if want_st == 0:
        assert r.result == want, ("list.%s%r" % (op, args), r.result, want, model.l)


def rand_index(rng, n):
    return rng.choice([rng.randint(-n - 3, n + 3), rng.randint(-n - 3, n + 3), 0, -1, BIG, SMALL])


def rand_bound(rng, n):
    return rng.choice([None, rng.randint(-n - 3, n + 3), rng.randint(-n - 3, n + 3), BIG, SMALL])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_match_python_list(client, seed):
    rng = random.Random(seed)
    m = Model()
    for step in range(1500):
        n = len(m.l)
        v = rng.choice(POOL)
        op = rng.choices(["append", "extend", "insert", "pop", "remove", "index", "count", "get",
                          "set", "range", "len", "clear", "reverse", "contains"],
                         weights=[10, 3, 8, 8, 5, 6, 3, 6, 5, 6, 2, 0.3, 2, 4])[0]
        if op in ("append", "remove", "count", "contains"):
            args = (v,)
        elif op == "extend":
            args = ([rng.choice(POOL) for _ in range(rng.randint(0, 5))],)
        elif op in ("insert", "set"):
            args = (rand_index(rng, n), v)
        elif op == "pop":
            args = rng.choice([(), (rand_index(rng, n),)])
        elif op == "get":
            args = (rand_index(rng, n),)
        elif op == "index":
            args = (v,) + tuple(rand_bound(rng, n) for _ in range(rng.randint(0, 2)))
        elif op == "range":
            args = tuple(rand_bound(rng, n) for _ in range(rng.randint(0, 2)))
        else:
            args = ()
        check(client, m, op, *args)
        if step % 100 == 0:
            assert client.ok("list.range", "l") == m.l
    assert client.ok("list.range", "l") == m.l
    assert client.ok("stat", "l")["size"] == len(m.l)
    # Every byte stored is accounted for, and given back.
    client.ok("delete", "l")
    assert held_memory(client) == 0


BOUNDS = [None, SMALL, -15, -11, -10, -9, -5, -1, 0, 1, 5, 9, 10, 11, 15, BIG, 2**64 - 1]


@pytest.mark.parametrize("n", [0, 1, 10])
def test_range_follows_python_slice_rules(client, n):
    items = list(range(100, 100 + n))
    if items:
        client.ok("list.extend", "l", items)
    pairs = list(itertools.product(BOUNDS, repeat=2))
    for start, stop in pairs:                # pipelined
        client.send("list.range", "l", start, stop)
    for start, stop in pairs:
        r = client.recv()
        assert (r.status, r.result) == (0, items[start:stop]), (start, stop)
    for start in BOUNDS:
        assert client.ok("list.range", "l", start) == items[start:], start
    assert client.ok("list.range", "l") == items


def test_index_with_start_and_stop_like_python(client):
    items = ["a", "b", "a", "c", "a", "b", "d", "a", "c", "e"]
    client.ok("list.extend", "l", items)
    m = Model()
    m.extend(items)
    cases = [(v, start, stop) for v in ("a", "b", "c", "e", "z")
             for start, stop in itertools.product(BOUNDS, repeat=2)]
    for v, start, stop in cases:
        client.send("list.index", "l", v, start, stop)
    for v, start, stop in cases:
        r = client.recv()
        st, want = m.index(v, start, stop)
        assert r.status == st, (v, start, stop, r)
        if st == 0:
            assert r.result == want, (v, start, stop)
            if start is not None and stop is not None and abs(start) < 100 and abs(stop) < 100:
                assert want == items.index(v, start, stop)
    for start in BOUNDS:
        st, want = m.index("a", start)
        r = client.call("list.index", "l", "a", start)
        assert r.status == st and (st or r.result == want), (start, r)


def test_append_extend_insert_return_the_length(client):
    assert client.ok("list.append", "l", "x") == 1
    assert client.ok("list.extend", "l", ["y", "z"]) == 3
    assert client.ok("list.extend", "l", []) == 3
    assert client.ok("list.insert", "l", 0, "w") == 4
    assert client.ok("list.insert", "l", -1, "before-z") == 5
    assert client.ok("list.insert", "l", 100, "end") == 6
    assert client.ok("list.insert", "l", -100, "start") == 7
    assert client.ok("list.insert", "l", BIG, "end2") == 8
    assert client.ok("list.insert", "l", SMALL, "start2") == 9
    assert client.ok("list.insert", "l", 2**64 - 1, "end3") == 10
    assert client.ok("dump", "l") == ["start2", "start", "w", "x", "y", "before-z", "z", "end", "end2", "end3"]


def test_pop(client):
    client.ok("list.extend", "l", [1, 2, 3, 4, 5])
    assert client.ok("list.pop", "l") == 5
    assert client.ok("list.pop", "l", 0) == 1
    assert client.ok("list.pop", "l", -2) == 3
    assert client.err("list.pop", "l", 2) == E.INDEX
    assert client.err("list.pop", "l", -3) == E.INDEX
    assert client.err("list.pop", "l", BIG) == E.INDEX
    assert client.err("list.pop", "l", SMALL) == E.INDEX
    assert client.err("list.pop", "l", 2**64 - 1) == E.INDEX
    assert client.ok("dump", "l") == [2, 4]
    assert client.ok("list.pop", "l", 1) == 4
    assert client.ok("list.pop", "l", -1) == 2
    assert client.err("list.pop", "l") == E.INDEX
    assert client.err("list.pop", "l", 0) == E.INDEX
    assert client.err("list.pop", "missing") == E.INDEX


def test_get_and_set(client):
    client.ok("list.extend", "l", ["a", "b", "c"])
    for i in range(-3, 3):
        assert client.ok("list.get", "l", i) == ["a", "b", "c"][i]
    for i in (3, -4, BIG, SMALL, 2**64 - 1):
        assert client.err("list.get", "l", i) == E.INDEX
        assert client.err("list.set", "l", i, "x") == E.INDEX
    assert client.ok("list.set", "l", -1, "C") is None
    assert client.ok("list.set", "l", 0, {"A": 1}) is None
    assert client.ok("dump", "l") == [{"A": 1}, "b", "C"]
    assert client.err("list.get", "missing", 0) == E.INDEX
    assert client.ok("exists", "missing") is False


def test_remove_count_contains(client):
    client.ok("list.extend", "l", ["a", "b", "a", [1], "a"])
    assert client.ok("list.count", "l", "a") == 3
    assert client.ok("list.count", "l", [1]) == 1
    assert client.ok("list.count", "l", "z") == 0
    assert client.ok("list.contains", "l", [1]) is True
    assert client.ok("list.contains", "l", "z") is False
    assert client.ok("list.remove", "l", "a") is None
    assert client.ok("dump", "l") == ["b", "a", [1], "a"]
    assert client.err("list.remove", "l", "z") == E.NOVALUE
    assert client.err("list.index", "l", "z") == E.NOVALUE
    assert client.ok("list.index", "l", "a") == 1
    assert client.ok("list.index", "l", "a", 2) == 3
    assert client.err("list.index", "l", "a", 2, 3) == E.NOVALUE
    assert client.err("list.remove", "missing", "a") == E.NOVALUE
    assert client.ok("list.count", "missing", "a") == 0
    assert client.ok("list.contains", "missing", "a") is False


def test_len_clear_reverse(client):
    assert client.ok("list.len", "l") == 0
    client.ok("list.extend", "l", list(range(7)))
    assert client.ok("list.len", "l") == 7
    assert client.ok("list.reverse", "l") is None
    assert client.ok("dump", "l") == list(range(6, -1, -1))
    assert client.ok("list.clear", "l") is None
    assert client.ok("list.len", "l") == 0
    assert client.ok("dump", "l") == []
    assert client.ok("list.reverse", "l") is None
    client.ok("list.append", "l", "again")
    assert client.ok("dump", "l") == ["again"]


def test_reverse_after_wraparound(client):
    # Pops at the front and appends at the back move the ring's head;
    # reverse, index and slices must not care.
    m = list(range(20))
    client.ok("list.extend", "l", m)
    for i in range(15):
        assert client.ok("list.pop", "l", 0) == m.pop(0)
        client.ok("list.append", "l", 100 + i)
        m.append(100 + i)
    client.ok("list.reverse", "l")
    m.reverse()
    assert client.ok("dump", "l") == m
    assert client.ok("list.range", "l", 3, -3) == m[3:-3]
    client.ok("list.insert", "l", 7, "mid")
    m.insert(7, "mid")
    assert client.ok("list.pop", "l", 12) == m.pop(12)
    assert client.ok("dump", "l") == m


def test_large_list(client):
    n = 50000
    for i in range(0, n, 5000):
        client.ok("list.extend", "l", list(range(i, i + 5000)))
    assert client.ok("list.len", "l") == n
    assert client.ok("list.get", "l", -1) == n - 1
    assert client.ok("list.index", "l", 40000) == 40000
    assert client.ok("list.range", "l", 25000, 25005) == list(range(25000, 25005))
    assert client.ok("list.insert", "l", 25000, "mid") == n + 1
    assert client.ok("list.pop", "l", 25000) == "mid"
    assert client.ok("list.range", "l", -3) == [n - 3, n - 2, n - 1]


# ---- canonical equality ---------------------------------------------------------------

def raw_request(rid, op, *parts):
    body = bytes([0x90 | (len(parts) + 2)]) + pack(rid) + pack(op) + b"".join(parts)
    return frame(body)


def test_search_compares_canonical_bytes(client):
    client.ok("list.extend", "l", [1, 0.0, "s"])
    # 1 as uint16, "s" as str8: the same items.
    for rid, op, raw in ((1, "list.count", b"\xcd\x00\x01"), (2, "list.contains", b"\xd9\x01s"),
                         (3, "list.index", b"\xd9\x01s")):
        client.send_raw(raw_request(rid, op, pack("l"), raw))
    assert [client.recv().result for _ in range(3)] == [1, True, 2]
    # 1.0 is not 1; -0.0 is not 0.0; a float32 0.0 is the float64 0.0.
    assert client.ok("list.contains", "l", 1.0) is False
    assert client.err("list.index", "l", 1.0) == E.NOVALUE
    assert client.err("list.remove", "l", 1.0) == E.NOVALUE
    assert client.ok("list.contains", "l", -0.0) is False
    client.send_raw(raw_request(4, "list.count", pack("l"), b"\xca\x00\x00\x00\x00"))
    assert client.recv().result == 1
    client.send_raw(raw_request(5, "list.remove", pack("l"), b"\xcd\x00\x01"))
    assert client.recv().status == 0
    assert client.ok("dump", "l") == [0.0, "s"]


def test_map_order_matters_for_equality(client):
    client.ok("list.append", "l", {"a": 1, "b": 2})
    assert client.ok("list.contains", "l", {"a": 1, "b": 2}) is True
    assert client.ok("list.contains", "l", {"b": 2, "a": 1}) is False


# ---- values ---------------------------------------------------------------------

def test_too_deep_values_are_badvalue_and_change_nothing(client):
    client.ok("list.extend", "l", ["keep"])
    deep = nested(25)
    assert client.err("list.append", "l", deep) == E.BADVALUE
    assert client.err("list.extend", "l", ["a", deep, "b"]) == E.BADVALUE
    assert client.err("list.insert", "l", 0, deep) == E.BADVALUE
    assert client.err("list.set", "l", 0, deep) == E.BADVALUE
    assert client.ok("dump", "l") == ["keep"]
    assert client.ok("list.append", "l", nested(24)) == 2
    # Searching for a deep value is not storing it.
    assert client.ok("list.count", "l", nested(26)) == 0


# ---- blocking pops ------------------------------------------------------------------

def waiting(c, name):
    return c.ok("stat", name)["waiting"]


def park(observer, conn, op, name, *args):
    before = waiting(observer, name) if observer.ok("exists", name) else 0
    rid = conn.send(op, name, *args)
    wait_until(lambda: observer.ok("exists", name) and waiting(observer, name) == before + 1,
               what="%s to park" % op)
    return rid


def test_blpop_brpop_take_from_their_end(client):
    client.ok("list.extend", "l", [1, 2, 3, 4])
    assert client.ok("list.blpop", "l") == 1
    assert client.ok("list.brpop", "l") == 4
    assert client.ok("list.blpop", "l", 0) == 2
    assert client.ok("list.brpop", "l", 0) == 3
    assert client.err("list.blpop", "l", 0) == E.EMPTY
    assert client.err("list.brpop", "l", 0) == E.EMPTY


@pytest.mark.parametrize("op", ["list.blpop", "list.brpop"])
def test_blocking_pop_timeout_is_honoured(client, op):
    t0 = time.monotonic()
    r = client.call(op, "l", 0.15)
    waited = time.monotonic() - t0
    assert r.status == E.TIMEOUT
    assert 0.15 <= waited < 0.15 + NOT_LATE, waited
    assert client.ok("ping") == "pong"


@pytest.mark.parametrize("op,adder,args,expect", [
    ("list.blpop", "list.append", ("x",), "x"),
    ("list.brpop", "list.append", ("x",), "x"),
    ("list.blpop", "list.extend", (["a", "b", "c"],), "a"),
    ("list.brpop", "list.extend", (["a", "b", "c"],), "c"),
    ("list.blpop", "list.insert", (5, "i"), "i"),
])
def test_blocking_pop_woken_by_any_adding_op(daemon, client, op, adder, args, expect):
    popper = daemon.connect()
    rid = park(client, popper, op, "l")
    client.ok(adder, "l", *args)
    r = popper.recv()
    assert (r.id, r.status, r.result) == (rid, 0, expect)
    assert waiting(client, "l") == 0


def test_poppers_served_in_order_each_from_its_end(daemon, client):
    p1, p2, p3 = (daemon.connect() for _ in range(3))
    park(client, p1, "list.blpop", "l")
    park(client, p2, "list.brpop", "l", 30)
    park(client, p3, "list.blpop", "l")
    client.ok("list.extend", "l", ["a", "b", "c", "d"])
    assert p1.recv().result == "a"
    assert p2.recv().result == "d"
    assert p3.recv().result == "b"
    assert client.ok("dump", "l") == ["c"]


def test_popper_that_disconnects_loses_its_place(daemon, client):
    p1, p2 = daemon.connect(), daemon.connect()
    park(client, p1, "list.blpop", "l")
    park(client, p2, "list.blpop", "l")
    p1.close()
    wait_until(lambda: waiting(client, "l") == 1, what="the closed popper to leave")
    client.ok("list.append", "l", "only")
    assert p2.recv().result == "only"
    assert client.ok("list.len", "l") == 0


def test_delete_wakes_poppers_with_deleted(daemon, client):
    p1, p2 = daemon.connect(), daemon.connect()
    park(client, p1, "list.blpop", "l")
    park(client, p2, "list.brpop", "l", 60)
    client.ok("delete", "l")
    for p in (p1, p2):
        assert p.recv().status == E.DELETED
        assert p.ok("ping") == "pong"
    assert client.ok("exists", "l") is False


# ---- argument errors --------------------------------------------------------------

@pytest.mark.parametrize("op,args", [
    ("list.append", ()), ("list.append", (1, 2)),
    ("list.extend", (1,)), ("list.extend", ({"a": 1},)), ("list.extend", ()),
    ("list.insert", (1,)), ("list.insert", ("0", 1)), ("list.insert", (0.0, 1)), ("list.insert", (None, 1)),
    ("list.pop", ("0",)), ("list.pop", (None,)), ("list.pop", (1.0,)), ("list.pop", (0, 0)),
    ("list.blpop", (-1,)), ("list.brpop", ("x",)), ("list.blpop", (0, 0)),
    ("list.remove", ()), ("list.index", ()), ("list.index", (1, "0")), ("list.index", (1, 0, 1.5)),
    ("list.index", (1, 0, 1, 2)), ("list.count", ()), ("list.get", ()), ("list.get", (None,)),
    ("list.get", ("0",)), ("list.set", (0,)), ("list.set", (0.5, 1)), ("list.range", ("0",)),
    ("list.range", (0, 1.0)), ("list.range", (0, 1, 2)), ("list.len", (1,)), ("list.clear", (1,)),
    ("list.reverse", (1,)), ("list.contains", ()),
])
def test_bad_arguments(client, op, args):
    assert client.err(op, "l", *args) == E.BADARG
    assert client.ok("exists", "l") is False
