"""Registry ops: create, delete, exists, type, stat, dump; objects created on
write, read as empty, and WRONGTYPE across types."""
import os
import time

import pytest

from ipcwire import E, OPS, nested, wait_until

TYPES = ("queue", "list", "dict", "ns")

# One write op per type, that creates the object it names.
WRITE = {
    "queue": ("queue.put", 1),
    "list": ("list.append", 1),
    "dict": ("dict.set", "k", 1),
    "ns": ("ns.set", "a", 1),
}
# One read op per type, and what it answers on a missing object.
READ = {
    "queue": (("queue.qsize",), 0),
    "list": (("list.len",), 0),
    "dict": (("dict.len",), 0),
    "ns": (("ns.all",), {}),
}


# ---- create --------------------------------------------------------------------

@pytest.mark.parametrize("t", TYPES)
def test_create_is_idempotent(client, t):
    assert client.ok("create", "obj", t) is True
    assert client.ok("create", "obj", t) is False
    assert client.ok("create", "obj", t, {}) is False
    assert client.ok("type", "obj") == t
    assert client.ok("exists", "obj") is True


def test_create_queue_with_maxsize(client):
    assert client.ok("create", "q", "queue", {"maxsize": 5}) is True
    assert client.ok("create", "q", "queue", {"maxsize": 5}) is False
    assert client.err("create", "q", "queue", {"maxsize": 6}) == E.EXISTS
    assert client.err("create", "q", "queue") == E.EXISTS
    assert client.err("create", "q", "queue", {"maxsize": 0}) == E.EXISTS
    assert client.ok("stat", "q")["options"] == {"maxsize": 5}


def test_create_queue_maxsize_zero_is_the_default(client):
    assert client.ok("create", "q", "queue", {"maxsize": 0}) is True
    assert client.ok("create", "q", "queue") is False
    assert client.ok("create", "q", "queue", {}) is False
    client.ok("queue.put", "w", 1)  # created by a write: defaults
    assert client.ok("create", "w", "queue", {"maxsize": 0}) is False
    assert client.err("create", "w", "queue", {"maxsize": 1}) == E.EXISTS


@pytest.mark.parametrize("t", TYPES)
def test_create_over_another_type_is_wrongtype(client, t):
    assert client.ok("create", "obj", t) is True
    for other in TYPES:
        if other != t:
            assert client.err("create", "obj", other) == E.WRONGTYPE
    assert client.ok("type", "obj") == t


@pytest.mark.parametrize("t,opts", [
    ("queue", {"maxsize": -1}),
    ("queue", {"maxsize": "5"}),
    ("queue", {"maxsize": 1.5}),
    ("queue", {"maxsize": None}),
    ("queue", {"maxsz": 5}),
    ("queue", {"maxsize": 5, "extra": 1}),
    ("list", {"maxsize": 5}),
    ("dict", {"x": 1}),
    ("ns", {"x": 1}),
])
def test_create_with_bad_options_is_badarg(client, t, opts):
    assert client.err("create", "obj", t, opts) == E.BADARG
    assert client.ok("exists", "obj") is False


@pytest.mark.parametrize("t", ["", "Queue", "set", "queue ", "any", "?"])
def test_create_unknown_type_is_badarg(client, t):
    assert client.err("create", "obj", t) == E.BADARG
    assert client.ok("exists", "obj") is False


@pytest.mark.parametrize("args", [(), ("obj",), ("obj", 1), ("obj", None), ("obj", "queue", []),
                                  ("obj", "queue", "opts"), ("obj", "queue", {}, 1), (1, "queue")])
def test_create_bad_arguments(client, args):
    assert client.err("create", *args) == E.BADARG
    assert client.ok("exists", "obj") is False


@pytest.mark.parametrize("name", ["", "x" * 256, "a\x00b"])
def test_create_bad_name(client, name):
    assert client.err("create", name, "queue") == E.BADNAME
    assert client.ok("ls") == [0, []]


def test_names_are_bytes_exact(client):
    assert client.ok("create", "x" * 255, "queue") is True
    assert client.ok("create", "é" * 127, "list") is True      # 254 bytes
    assert client.err("create", "é" * 128, "list") == E.BADNAME  # 256 bytes
    assert client.ok("create", "Obj", "dict") is True
    assert client.ok("create", "obj", "ns") is True  # case matters
    assert client.ok("create", "a b/c:*?", "queue") is True
    assert sorted(n for n, _ in client.ok("ls")[1]) == sorted(["x" * 255, "é" * 127, "Obj", "obj", "a b/c:*?"])


# ---- delete, exists, type ----------------------------------------------------------

@pytest.mark.parametrize("t", TYPES)
def test_delete(client, t):
    op, *args = WRITE[t]
    client.ok(op, "obj", *args)
    assert client.ok("exists", "obj") is True
    assert client.ok("delete", "obj") is None
    assert client.ok("exists", "obj") is False
    assert client.err("delete", "obj") == E.NOTFOUND
    assert client.err("type", "obj") == E.NOTFOUND
    # The name is free for any type now, and the new object starts empty.
    assert client.ok("create", "obj", TYPES[(TYPES.index(t) + 1) % 4]) is True
    assert client.ok("stat", "obj")["size"] == 0


def test_delete_missing_is_notfound(client):
    assert client.err("delete", "nope") == E.NOTFOUND


@pytest.mark.parametrize("op", ["delete", "exists", "type", "stat", "dump"])
def test_name_ops_bad_arguments(client, op):
    assert client.err(op) == E.BADARG
    assert client.err(op, "a", "b") == E.BADARG
    assert client.err(op, 5) == E.BADARG
    assert client.err(op, None) == E.BADARG
    assert client.err(op, b"bin") == E.BADARG
    assert client.err(op, "") == E.BADNAME
    assert client.err(op, "n" * 256) == E.BADNAME


def test_exists(client):
    assert client.ok("exists", "a") is False
    client.ok("create", "a", "list")
    assert client.ok("exists", "a") is True
    assert client.ok("exists", "b") is False


@pytest.mark.parametrize("t", TYPES)
def test_type(client, t):
    client.ok("create", "o", t)
    assert client.ok("type", "o") == t


def test_type_missing_is_notfound(client):
    assert client.err("type", "nope") == E.NOTFOUND


# ---- created on write, read as empty, wrong type ---------------------------------------

@pytest.mark.parametrize("t", TYPES)
def test_read_of_missing_object_is_empty_and_creates_nothing(client, t):
    (op, *args), empty = READ[t]
    assert client.ok(op, "ghost", *args) == empty
    assert client.ok("exists", "ghost") is False
    assert client.ok("ls") == [0, []]


@pytest.mark.parametrize("t", TYPES)
def test_write_creates_with_defaults(client, t):
    op, *args = WRITE[t]
    client.ok(op, "fresh", *args)
    assert client.ok("type", "fresh") == t
    assert client.ok("create", "fresh", t) is False  # default options


@pytest.mark.parametrize("t", TYPES)
def test_every_typed_op_on_another_type_is_wrongtype(client, t):
    client.ok("create", "obj", t)
    op, *args = WRITE[t]
    client.ok(op, "obj", *args)
    sample = {"N": "obj", "S": "s", "s": "s", "v": 1, "k": 1, "m": {}, "o": {}, "a": [1],
              "i": 0, "I": 0, "u": 1, "n": 1, "t": 0}
    checked = 0
    for op in OPS.values():
        if op.type in ("ANY", t.upper()):
            continue
        args = [sample[ch] for ch in op.sig.replace("|", "")[:op.min_args]]
        assert client.err(op.name, *args) == E.WRONGTYPE, op
        checked += 1
    assert checked >= 25
    assert client.ok("type", "obj") == t
    assert client.ok("stat", "obj")["size"] == 1


# ---- stat ------------------------------------------------------------------------

def test_stat_fields(client):
    t0 = time.time()
    client.ok("create", "q", "queue", {"maxsize": 3})
    st = client.ok("stat", "q")
    assert st["name"] == "q"
    assert st["type"] == "queue"
    assert st["size"] == 0
    assert isinstance(st["created"], float) and t0 - 1 <= st["created"] <= time.time() + 1
    assert st["reads"] == 0 and st["writes"] == 0
    assert st["waiting"] == 0
    assert st["options"] == {"maxsize": 3}


def test_stat_counts_reads_writes_and_size(client):
    client.ok("queue.put", "q", 1)     # write (creates)
    client.ok("queue.put", "q", 2)     # write
    client.ok("queue.qsize", "q")      # read
    client.ok("queue.get", "q")        # write
    st = client.ok("stat", "q")
    assert (st["size"], st["reads"], st["writes"]) == (1, 1, 3)
    created = st["created"]
    assert client.ok("stat", "q")["created"] == created


@pytest.mark.parametrize("t,fill,size,options", [
    ("list", [("list.extend", [1, 2, 3])], 3, {}),
    ("dict", [("dict.update", {"a": 1, "b": 2})], 2, {}),
    ("ns", [("ns.set", "x", 1), ("ns.set", "y", 2), ("ns.set", "z", 3), ("ns.set", "x", 4)], 3, {}),
    ("queue", [("queue.put_many", [1, 2, 3, 4])], 4, {"maxsize": 0}),
])
def test_stat_size_per_type(client, t, fill, size, options):
    for op, *args in fill:
        client.ok(op, "o", *args)
    st = client.ok("stat", "o")
    assert st["type"] == t
    assert st["size"] == size
    assert st["options"] == options


def test_stat_waiting_counts_parked_requests(daemon, client):
    waiters = [daemon.connect() for _ in range(3)]
    for i, w in enumerate(waiters):
        w.send("queue.get", "q")
        wait_until(lambda: client.ok("stat", "q")["waiting"] == i + 1, what="getter %d to park" % i)
    client.ok("queue.put_many", "q", [1, 2, 3])
    for w in waiters:
        assert w.recv().status == 0
    assert client.ok("stat", "q")["waiting"] == 0


def test_stat_missing_is_notfound(client):
    assert client.err("stat", "nope") == E.NOTFOUND


# ---- dump ------------------------------------------------------------------------

def test_dump_each_type(client):
    client.ok("queue.put_many", "q", ["a", {"b": 1}, [None]])
    client.ok("queue.get", "q")
    assert client.ok("dump", "q") == [{"b": 1}, [None]]
    client.ok("list.extend", "l", [3, 1, 2])
    client.ok("list.insert", "l", 0, "first")
    assert client.ok("dump", "l") == ["first", 3, 1, 2]
    client.ok("dict.set", "d", "z", 1)
    client.ok("dict.set", "d", 5, [1])
    client.ok("dict.set", "d", "a", None)
    assert list(client.ok("dump", "d").items()) == [("z", 1), (5, [1]), ("a", None)]
    client.ok("ns.set", "n", "b", 2)
    client.ok("ns.set", "n", "a", 1)
    assert list(client.ok("dump", "n").items()) == [("b", 2), ("a", 1)]


@pytest.mark.parametrize("t,empty", [("queue", []), ("list", []), ("dict", {}), ("ns", {})])
def test_dump_empty(client, t, empty):
    client.ok("create", "o", t)
    assert client.ok("dump", "o") == empty


def test_dump_missing_is_notfound(client):
    assert client.err("dump", "nope") == E.NOTFOUND


def test_dump_deep_value_round_trips(client):
    v = nested(24)
    client.ok("list.append", "l", v)
    assert client.ok("dump", "l") == [v]


def test_create_takes_a_mode_beside_the_type_options(client):
    assert client.ok("create", "m", "queue", {"maxsize": 2, "mode": "0640"}) is True
    st = client.ok("stat", "m")
    assert st["mode"] == 0o640 and st["owner"] == os.geteuid() and "mode" not in st["options"]
    assert st["options"]["maxsize"] == 2
    # the mode is the creation's: an existing object keeps its own (chmod changes it)
    assert client.ok("create", "m", "queue", {"maxsize": 2, "mode": 0o600}) is False
    assert client.ok("stat", "m")["mode"] == 0o640
    assert client.err("create", "m", "queue", {"maxsize": 3, "mode": 0o640}) == E.EXISTS
    assert client.ok("create", "plain", "dict") is True
    assert client.ok("stat", "plain")["mode"] == 0o660     # default_mode
    for bad in ("0800", "rwx", 0o1000, -1, 1.5, None):
        assert client.err("create", "bad", "list", {"mode": bad}) == E.BADARG
    assert client.ok("exists", "bad") is False
