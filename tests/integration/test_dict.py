"""Dicts, checked against Python's dict: insertion order, popitem LIFO,
paging of keys/values/items, incr, cas, canonical keys, and concurrent incr
from many connections."""
import random
import threading

import pytest

from ipcwire import E, frame, nested, pack, held_memory

I64_MAX = 2**63 - 1
I64_MIN = -2**63
U64_MAX = 2**64 - 1

# Keys and values whose Python equality is ipcd's canonical equality.
KEYS = [0, 1, 2, -1, 300, U64_MAX, I64_MIN, 1.5, "a", "b", "", "long" * 40, None, b"a", b""]
VALUES = [0, 1, "v", None, [1, 2], {"x": [None]}, 2.5, b"\x00", "w" * 300]

_MISSING = object()


class Model:
    """Python's dict, answering like ipcd: (status, result)."""

    def __init__(self):
        self.d = {}

    def set(self, k, v):
        self.d[k] = v
        return 0, None

    def get(self, k, default=_MISSING):
        if k in self.d:
            return 0, self.d[k]
        return (E.NOKEY, None) if default is _MISSING else (0, default)

    def delete(self, k):
        if k not in self.d:
            return E.NOKEY, None
        del self.d[k]
        return 0, None

    def pop(self, k, default=_MISSING):
        if k in self.d:
            return 0, self.d.pop(k)
        return (E.NOKEY, None) if default is _MISSING else (0, default)

    def popitem(self):
        if not self.d:
            return E.NOKEY, None
        return 0, list(self.d.popitem())

    def setdefault(self, k, v):
        return 0, self.d.setdefault(k, v)

    def update(self, m):
        self.d.update(m)
        return 0, len(self.d)

    def len(self):
        return 0, len(self.d)

    def contains(self, k):
        return 0, k in self.d

    def clear(self):
        self.d.clear()
        return 0, None

    def cas(self, k, expected, new):
        if self.d.get(k) == expected and (k in self.d or expected is None):
            self.d[k] = new
            return 0, True
        return 0, False


def check(c, model, op, *args):
    want_st, want = getattr(model, "delete" if op == "del" else op)(*args)
    r = c.call("dict." + op, "d", *args)
    assert r.status == want_st, ("dict.%s%r" % (op, args), r, model.d)
    if want_st == 0:
        assert r.result == want, ("dict.%s%r" % (op, args), r.result, want)


def scan(c, op, name, count=None, cursor=0, **kw):
    """Follow dict.keys/values/items from cursor to the end; list of pages."""
    pages = []
    while True:
        args = [name, cursor] + ([] if count is None else [count])
        nxt, page = c.ok(op, *args, **kw)
        pages.append(page)
        if nxt == 0:
            return pages
        assert nxt > cursor
        cursor = nxt
        assert len(pages) < 100000


# ---- each op against Python -----------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_match_python_dict(client, seed):
    rng = random.Random(seed)
    m = Model()
    ops = ["set", "get", "del", "pop", "popitem", "setdefault", "update", "len", "contains",
           "clear", "cas"]
    for step in range(2000):
        op = rng.choices(ops, weights=[20, 10, 6, 6, 4, 5, 3, 2, 5, 0.2, 6])[0]
        k, v = rng.choice(KEYS), rng.choice(VALUES)
        if op == "set" or op == "setdefault":
            args = (k, v)
        elif op in ("get", "pop"):
            args = rng.choice([(k,), (k, v), (k, None)])
        elif op in ("del", "contains"):
            args = (k,)
        elif op == "update":
            args = ({rng.choice(KEYS): rng.choice(VALUES) for _ in range(rng.randint(0, 4))},)
        elif op == "cas":
            args = (k, rng.choice([None, m.d.get(k), rng.choice(VALUES)]), v)
        else:
            args = ()
        check(client, m, op, *args)
        if step % 100 == 0:
            assert list(client.ok("dict.items", "d", 0, 10000)[1].items()) == list(m.d.items())
    assert list(client.ok("dict.items", "d", 0, 10000)[1].items()) == list(m.d.items())
    assert client.ok("dict.keys", "d", 0, 10000)[1] == list(m.d.keys())
    assert client.ok("dict.values", "d", 0, 10000)[1] == list(m.d.values())
    # Every byte stored is accounted for, and given back.
    client.ok("delete", "d")
    assert held_memory(client) == 0


def test_set_get_del(client):
    assert client.ok("dict.set", "d", "k", "v") is None
    assert client.ok("dict.get", "d", "k") == "v"
    assert client.ok("dict.set", "d", "k", [1]) is None
    assert client.ok("dict.get", "d", "k") == [1]
    assert client.ok("dict.len", "d") == 1
    assert client.ok("dict.del", "d", "k") is None
    assert client.err("dict.del", "d", "k") == E.NOKEY
    assert client.err("dict.get", "d", "k") == E.NOKEY
    assert client.ok("dict.len", "d") == 0


def test_get_and_pop_defaults_even_nil(client):
    assert client.ok("dict.get", "d", "missing", None) is None
    assert client.ok("dict.get", "d", "missing", {"dflt": 1}) == {"dflt": 1}
    assert client.err("dict.get", "d", "missing") == E.NOKEY
    assert client.ok("dict.pop", "d", "missing", None) is None
    assert client.ok("dict.pop", "d", "missing", 0) == 0
    assert client.err("dict.pop", "d", "missing") == E.NOKEY
    client.ok("dict.set", "d", "k", "v")
    assert client.ok("dict.get", "d", "k", "dflt") == "v"
    assert client.ok("dict.pop", "d", "k", "dflt") == "v"
    assert client.ok("dict.contains", "d", "k") is False


def test_read_of_missing_dict(client):
    assert client.err("dict.get", "nope", "k") == E.NOKEY
    assert client.ok("dict.get", "nope", "k", 7) == 7
    assert client.ok("dict.len", "nope") == 0
    assert client.ok("dict.contains", "nope", "k") is False
    assert client.ok("dict.keys", "nope") == [0, []]
    assert client.ok("dict.values", "nope") == [0, []]
    assert client.ok("dict.items", "nope") == [0, {}]
    assert client.ok("exists", "nope") is False


def test_insertion_order(client):
    for k in ("c", "a", "b"):
        client.ok("dict.set", "d", k, k.upper())
    client.ok("dict.set", "d", "a", "A2")           # update keeps the place
    assert client.ok("dict.keys", "d")[1] == ["c", "a", "b"]
    client.ok("dict.del", "d", "c")
    client.ok("dict.set", "d", "c", "C2")           # re-insert moves to the end
    assert list(client.ok("dict.items", "d")[1].items()) == [("a", "A2"), ("b", "B"), ("c", "C2")]
    assert list(client.ok("dump", "d").items()) == [("a", "A2"), ("b", "B"), ("c", "C2")]


def test_popitem_is_lifo(client):
    client.ok("dict.update", "d", {"a": 1, "b": 2, "c": 3})
    client.ok("dict.set", "d", "a", 10)    # keeps its place
    client.ok("dict.pop", "d", "b")
    client.ok("dict.set", "d", "b", 20)    # now last
    assert client.ok("dict.popitem", "d") == ["b", 20]
    assert client.ok("dict.popitem", "d") == ["c", 3]
    assert client.ok("dict.popitem", "d") == ["a", 10]
    assert client.err("dict.popitem", "d") == E.NOKEY
    assert client.err("dict.popitem", "never") == E.NOKEY


def test_setdefault(client):
    assert client.ok("dict.setdefault", "d", "k", [1]) == [1]
    assert client.ok("dict.setdefault", "d", "k", [2]) == [1]
    assert client.ok("dict.get", "d", "k") == [1]
    assert client.ok("dict.setdefault", "d", "n", None) is None
    assert client.ok("dict.contains", "d", "n") is True


def test_update(client):
    assert client.ok("dict.update", "d", {}) == 0
    assert client.ok("dict.update", "d", {"a": 1, "b": 2}) == 2
    assert client.ok("dict.update", "d", {"b": 3, "c": 4}) == 3
    assert list(client.ok("dump", "d").items()) == [("a", 1), ("b", 3), ("c", 4)]


def test_update_is_all_or_nothing(client):
    client.ok("dict.update", "d", {"a": 1, "b": 2})
    assert client.err("dict.update", "d", {"b": 20, "new": 1, "bad": nested(25)}) == E.BADVALUE
    assert list(client.ok("dump", "d").items()) == [("a", 1), ("b", 2)]
    # A too deep key fails the same way, after other pairs were applied.
    body = b"\x83" + pack("b") + pack(20) + pack("new") + pack(1) + pack(nested(25)) + pack(0)
    client.send_raw(raw_request(9, "dict.update", pack("d"), body))
    r = client.recv()
    assert (r.id, r.status) == (9, E.BADVALUE)
    assert list(client.ok("dump", "d").items()) == [("a", 1), ("b", 2)]
    assert client.ok("dict.len", "d") == 2


def test_update_with_duplicate_keys_in_the_map(client):
    # {1: "a", 1 (uint16): "b"}: the same key twice; the last one wins.
    body = b"\x82\x01" + pack("a") + b"\xcd\x00\x01" + pack("b")
    client.send_raw(raw_request(3, "dict.update", pack("d"), body))
    r = client.recv()
    assert (r.status, r.result) == (0, 1)
    assert client.ok("dump", "d") == {1: "b"}


def test_len_contains_clear(client):
    client.ok("dict.update", "d", {i: i for i in range(50)})
    assert client.ok("dict.len", "d") == 50
    assert client.ok("dict.contains", "d", 49) is True
    assert client.ok("dict.contains", "d", 50) is False
    assert client.ok("dict.clear", "d") is None
    assert client.ok("dict.len", "d") == 0
    assert client.ok("dump", "d") == {}
    client.ok("delete", "d")
    assert held_memory(client) == 0


def test_any_value_can_be_a_key(client):
    keys = [[1, 2], {"a": 1}, (), None, True, False, b"bin", 1.5, -0.0, 0.0, [[{"x": None}]]]
    for i, k in enumerate(keys):
        client.ok("dict.set", "d", k, i)
    assert client.ok("dict.len", "d") == len(keys)
    for i, k in enumerate(keys):
        assert client.ok("dict.get", "d", k) == i
    hook = {"use_list": False, "object_pairs_hook": tuple}
    as_tuples = [(1, 2), (("a", 1),), (), None, True, False, b"bin", 1.5, -0.0, 0.0,
                 (((("x", None),),),)]
    assert client.ok("dict.keys", "d", **hook) == (0, tuple(as_tuples))
    _, items = client.ok("dict.items", "d", **hook)
    assert items == tuple(zip(as_tuples, range(len(keys))))
    assert client.ok("dict.popitem", "d", **hook) == (as_tuples[-1], len(keys) - 1)
    assert client.ok("dict.len", "d") == len(keys) - 1


# ---- canonical keys -------------------------------------------------------------------

def raw_request(rid, op, *parts):
    return frame(bytes([0x90 | (len(parts) + 2)]) + pack(rid) + pack(op) + b"".join(parts))


@pytest.mark.parametrize("a,b", [
    (b"\x01", b"\xcd\x00\x01"),                              # fixint / uint16
    (b"\x01", b"\xcf" + (1).to_bytes(8, "big")),             # fixint / uint64
    (b"\x01", b"\xd3" + (1).to_bytes(8, "big")),             # fixint / int64
    (b"\xff", b"\xd1\xff\xff"),                              # -1 as fixint / int16
    (b"\xa1k", b"\xd9\x01k"),                                # fixstr / str8
    (b"\xcb\x3f\xf8" + b"\x00" * 6, b"\xca\x3f\xc0\x00\x00"),  # 1.5 float64 / float32
    (b"\x91\x01", b"\xdc\x00\x01\xcc\x01"),                  # [1] / array16 of uint8
])
def test_equal_keys_in_any_encoding(client, a, b):
    client.send_raw(raw_request(1, "dict.set", pack("d"), a, pack("first")))
    client.send_raw(raw_request(2, "dict.set", pack("d"), b, pack("second")))
    client.send_raw(raw_request(3, "dict.get", pack("d"), a))
    client.send_raw(raw_request(4, "dict.contains", pack("d"), b))
    client.send_raw(raw_request(5, "dict.cas", pack("d"), b, pack("second"), pack("third")))
    replies = [client.recv() for _ in range(5)]
    assert [r.status for r in replies] == [0] * 5
    assert replies[2].result == "second"
    assert replies[3].result is True
    assert replies[4].result is True
    assert client.ok("dict.len", "d") == 1
    # The key comes back canonical (a is the canonical form).
    r = client.call("dict.keys", "d")
    assert r.raw.endswith(b"\x00\x92\x00\x91" + a)


@pytest.mark.parametrize("a,b", [(1, 1.0), (0.0, -0.0), ("a", b"a"), ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
                                 (1, True), (0, None), ([1], (1, 1))])
def test_distinct_keys(client, a, b):
    client.ok("dict.set", "d", a, "A")
    client.ok("dict.set", "d", b, "B")
    assert client.ok("dict.len", "d") == 2
    assert client.ok("dict.get", "d", a) == "A"
    assert client.ok("dict.get", "d", b) == "B"


# ---- paging ---------------------------------------------------------------------

def fill(c, name, n, prefix="key"):
    keys = ["%s-%05d" % (prefix, i) for i in range(n)]
    for i in range(0, n, 1000):
        c.ok("dict.update", name, {k: j for j, k in enumerate(keys[i:i + 1000], i)})
    return keys


@pytest.mark.parametrize("count", [None, 1, 7, 100, 1000, 10000])
def test_keys_values_items_pages_cover_5000_keys_once_in_order(client, count):
    keys = fill(client, "d", 5000)
    got_keys = [k for page in scan(client, "dict.keys", "d", count) for k in page]
    assert got_keys == keys
    got_values = [v for page in scan(client, "dict.values", "d", count) for v in page]
    assert got_values == list(range(5000))
    pairs = [kv for page in scan(client, "dict.items", "d", count) for kv in page.items()]
    assert pairs == list(zip(keys, range(5000)))
    if count:
        for page in scan(client, "dict.keys", "d", count):
            assert len(page) <= count


def test_page_size_default_and_cap(client):
    fill(client, "d", 10050)
    nxt, page = client.ok("dict.keys", "d")
    assert len(page) == 100 and nxt != 0
    nxt, page = client.ok("dict.values", "d", 0, 0)
    assert len(page) == 100 and nxt != 0
    assert client.err("dict.items", "d", 0, 10001) == E.BADARG
    nxt, page = client.ok("dict.items", "d", 0, 10000)
    assert len(page) == 10000 and nxt != 0
    nxt, page = client.ok("dict.items", "d", nxt, 10000)
    assert len(page) == 50 and nxt == 0
    assert client.ok("dict.keys", "d", 2**64 - 1) == [0, []]


def test_keys_present_for_the_whole_scan_come_back_once(client):
    keys = fill(client, "d", 5000)
    stable = set(keys[1::2])
    doomed = keys[0::2]
    rng = random.Random(5)
    seen, cursor, new = [], 0, 0
    while True:
        nxt, page = client.ok("dict.keys", "d", cursor, 64)
        seen.extend(page)
        for _ in range(20):
            if doomed:
                client.ok("dict.del", "d", doomed.pop(rng.randrange(len(doomed))))
            client.ok("dict.set", "d", "late-%05d" % new, 0)
            new += 1
        # Updating a stable key keeps its place: still exactly once.
        client.ok("dict.set", "d", rng.choice(keys[1::2]), "updated")
        if nxt == 0:
            break
        cursor = nxt
    for k in stable:
        assert seen.count(k) == 1, k
    assert len(seen) == len(set(seen))


# ---- incr -------------------------------------------------------------------------

def test_incr_ints(client):
    assert client.ok("dict.incr", "d", "n") == 1
    assert client.ok("dict.incr", "d", "n") == 2
    assert client.ok("dict.incr", "d", "n", 40) == 42
    assert client.ok("dict.incr", "d", "n", -50) == -8
    assert client.ok("dict.incr", "d", "n", 0) == -8
    assert client.ok("dict.get", "d", "n") == -8
    assert client.ok("dict.incr", "d", "fresh", -3) == -3
    assert client.ok("dict.incr", "d", 7, 7) == 7   # any key


def test_incr_floats(client):
    r = client.ok("dict.incr", "d", "f", 0.5)
    assert r == 0.5 and isinstance(r, float)
    r = client.ok("dict.incr", "d", "f")
    assert r == 1.5 and isinstance(r, float)
    client.ok("dict.set", "d", "i", 2)
    r = client.ok("dict.incr", "d", "i", 1.0)
    assert r == 3.0 and isinstance(r, float)
    assert isinstance(client.ok("dict.get", "d", "i"), float)
    client.ok("dict.set", "d", "g", 0.25)
    r = client.ok("dict.incr", "d", "g", 2)
    assert r == 2.25 and isinstance(r, float)
    # A float32 stored value counts as its float64.
    client.send_raw(raw_request(1, "dict.set", pack("d"), pack("h"), b"\xca\x3f\xc0\x00\x00"))
    assert client.recv().status == 0
    assert client.ok("dict.incr", "d", "h", 1) == 2.5


def test_incr_of_non_canonical_int(client):
    client.send_raw(raw_request(1, "dict.set", pack("d"), pack("n"), b"\xd3" + (41).to_bytes(8, "big")))
    assert client.recv().status == 0
    assert client.ok("dict.incr", "d", "n") == 42


@pytest.mark.parametrize("start,delta,result", [
    (I64_MAX - 1, 1, I64_MAX),
    (I64_MIN + 1, -1, I64_MIN),
    (I64_MAX, I64_MIN, -1),
    (2**63, -1, I64_MAX),               # a stored uint64 past int64 comes back into range
    (U64_MAX, I64_MIN, I64_MAX),
    (None, I64_MIN, I64_MIN),           # missing key counts as 0
])
def test_incr_at_the_edges(client, start, delta, result):
    if start is not None:
        client.ok("dict.set", "d", "n", start)
    assert client.ok("dict.incr", "d", "n", delta) == result
    assert client.ok("dict.get", "d", "n") == result


@pytest.mark.parametrize("start,delta", [
    (I64_MAX, 1), (I64_MIN, -1), (None, 2**63), (None, U64_MAX), (0, U64_MAX),
    (U64_MAX, -1), (2**63, 0), (1, I64_MAX), (-2, I64_MIN),
])
def test_incr_overflow(client, start, delta):
    if start is not None:
        client.ok("dict.set", "d", "n", start)
    assert client.err("dict.incr", "d", "n", delta) == E.OVERFLOW
    if start is None:
        assert client.ok("dict.contains", "d", "n") is False
    else:
        assert client.ok("dict.get", "d", "n") == start


@pytest.mark.parametrize("value", ["5", None, True, False, [1], {"a": 1}, b"\x01", ""])
def test_incr_of_non_number_is_notnumber(client, value):
    client.ok("dict.set", "d", "k", value)
    assert client.err("dict.incr", "d", "k") == E.NOTNUMBER
    assert client.err("dict.incr", "d", "k", 1.5) == E.NOTNUMBER
    assert client.ok("dict.get", "d", "k") == value


@pytest.mark.parametrize("delta", ["1", None, True, [1], float("inf"), float("-inf"), float("nan")])
def test_incr_bad_delta_is_badarg(client, delta):
    client.ok("dict.set", "d", "k", 1)
    assert client.err("dict.incr", "d", "k", delta) == E.BADARG
    assert client.ok("dict.get", "d", "k") == 1


def _incr_worker(path, n, results, errors):
    from ipcwire import Client
    try:
        with Client(path) as c:
            got = [c.ok("dict.incr", "counters", "hits") for _ in range(n)]
            c.ok("dict.incr", "counters", "float", 0.5)
        results.append(got)
    except Exception as e:  # reported by the main thread
        errors.append(e)


def test_concurrent_incr_is_exact(daemon, client):
    threads, results, errors = [], [], []
    for _ in range(8):
        t = threading.Thread(target=_incr_worker, args=(daemon.sock_path, 1000, results, errors))
        threads.append(t)
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    assert not errors, errors
    assert client.ok("dict.get", "counters", "hits") == 8000
    assert client.ok("dict.get", "counters", "float") == 4.0
    # Each incr saw its own value: together exactly 1..8000.
    seen = sorted(v for got in results for v in got)
    assert seen == list(range(1, 8001))
    for got in results:
        assert got == sorted(got)


# ---- cas ------------------------------------------------------------------------

def test_cas(client):
    assert client.ok("dict.cas", "d", "k", None, "v1") is True     # missing counts as nil
    assert client.ok("dict.get", "d", "k") == "v1"
    assert client.ok("dict.cas", "d", "k", None, "v2") is False
    assert client.ok("dict.cas", "d", "k", "other", "v2") is False
    assert client.ok("dict.get", "d", "k") == "v1"
    assert client.ok("dict.cas", "d", "k", "v1", "v2") is True
    assert client.ok("dict.get", "d", "k") == "v2"
    assert client.ok("dict.cas", "d", "m", 1, "x") is False         # missing is not 1
    assert client.ok("dict.contains", "d", "m") is False
    client.ok("dict.set", "d", "n", None)
    assert client.ok("dict.cas", "d", "n", None, 5) is True          # a stored nil too
    assert client.ok("dict.cas", "d", "n", 5.0, 6) is False          # 5.0 is not 5
    assert client.ok("dict.cas", "d", "n", 5, {"a": [1]}) is True
    assert client.ok("dict.cas", "d", "n", {"a": [1]}, None) is True
    assert client.ok("dict.get", "d", "n") is None
    assert client.ok("dict.len", "d") == 2


def test_cas_keeps_the_key_place(client):
    client.ok("dict.update", "d", {"a": 1, "b": 2, "c": 3})
    assert client.ok("dict.cas", "d", "a", 1, 10) is True
    assert client.ok("dict.keys", "d")[1] == ["a", "b", "c"]


def test_cas_new_value_too_deep(client):
    client.ok("dict.set", "d", "k", 1)
    assert client.err("dict.cas", "d", "k", 1, nested(25)) == E.BADVALUE
    assert client.ok("dict.get", "d", "k") == 1


# ---- values and keys too deep ---------------------------------------------------------

def test_too_deep_is_badvalue_and_changes_nothing(client):
    client.ok("dict.set", "d", "keep", 1)
    deep = nested(25)
    assert client.err("dict.set", "d", "k", deep) == E.BADVALUE
    assert client.err("dict.set", "d", deep, 1) == E.BADVALUE
    assert client.err("dict.setdefault", "d", "k", deep) == E.BADVALUE
    assert client.err("dict.setdefault", "d", deep, 1) == E.BADVALUE
    assert client.err("dict.update", "d", {"k": deep}) == E.BADVALUE
    assert client.err("dict.incr", "d", deep) == E.BADVALUE
    assert list(client.ok("dump", "d").items()) == [("keep", 1)]
    assert client.ok("dict.set", "d", "k", nested(24)) is None
    # Looking up a deep key is not storing it.
    assert client.ok("dict.contains", "d", nested(26)) is False


# ---- argument errors --------------------------------------------------------------

@pytest.mark.parametrize("op,args", [
    ("dict.set", ()), ("dict.set", ("k",)), ("dict.set", ("k", 1, 2)),
    ("dict.get", ()), ("dict.get", ("k", 1, 2)),
    ("dict.del", ()), ("dict.del", ("k", 1)),
    ("dict.pop", ()), ("dict.pop", ("k", 1, 2)),
    ("dict.popitem", ("k",)),
    ("dict.setdefault", ("k",)), ("dict.setdefault", ("k", 1, 2)),
    ("dict.update", ()), ("dict.update", ([["a", 1]],)), ("dict.update", ("a",)), ("dict.update", ({}, {})),
    ("dict.keys", (-1,)), ("dict.keys", ("0",)), ("dict.keys", (0, -1)), ("dict.keys", (0, 1, 2)),
    ("dict.values", (None,)), ("dict.items", (0, 1.5)),
    ("dict.len", (1,)), ("dict.contains", ()), ("dict.clear", (1,)),
    ("dict.incr", ()), ("dict.incr", ("k", "1")), ("dict.incr", ("k", 1, 2)),
    ("dict.cas", ("k", 1)), ("dict.cas", ("k", 1, 2, 3)),
])
def test_bad_arguments(client, op, args):
    assert client.err(op, "d", *args) == E.BADARG
    assert client.ok("exists", "d") is False
