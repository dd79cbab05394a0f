"""Namespaces: string-named attributes, like types.SimpleNamespace shared
between processes."""
import random

import pytest

from ipcwire import E, nested, held_memory


def test_set_get_del(client):
    assert client.ok("ns.set", "cfg", "mode", "fast") is None
    assert client.ok("ns.get", "cfg", "mode") == "fast"
    assert client.ok("ns.set", "cfg", "mode", {"speed": [1, 2]}) is None
    assert client.ok("ns.get", "cfg", "mode") == {"speed": [1, 2]}
    assert client.ok("ns.del", "cfg", "mode") is None
    assert client.err("ns.get", "cfg", "mode") == E.NOKEY
    assert client.err("ns.del", "cfg", "mode") == E.NOKEY
    assert client.ok("ns.all", "cfg") == {}
    assert client.ok("type", "cfg") == "ns"


def test_values_of_every_kind(client):
    values = {"nil": None, "t": True, "i": -5, "u": 2**64 - 1, "f": 0.125, "s": "str", "b": b"\x00\x01",
              "a": [1, [2]], "m": {"k": {"n": None}}, "deep": nested(24), "empty": ""}
    for k, v in values.items():
        client.ok("ns.set", "n", k, v)
    for k, v in values.items():
        assert client.ok("ns.get", "n", k) == v
    assert client.ok("ns.all", "n") == values


def test_all_is_in_insertion_order(client):
    for a in ("zeta", "alpha", "mid"):
        client.ok("ns.set", "n", a, a.upper())
    client.ok("ns.set", "n", "zeta", "Z2")          # keeps its place
    client.ok("ns.del", "n", "alpha")
    client.ok("ns.set", "n", "alpha", "A2")         # moves to the end
    assert list(client.ok("ns.all", "n").items()) == [("zeta", "Z2"), ("mid", "MID"), ("alpha", "A2")]
    assert list(client.ok("dump", "n").items()) == [("zeta", "Z2"), ("mid", "MID"), ("alpha", "A2")]
    assert client.ok("stat", "n")["size"] == 3


def test_matches_a_python_namespace(client):
    rng = random.Random(7)
    model = {}
    attrs = ["a", "b", "c", "", "é", "x" * 300, "with space", "0"]
    for step in range(1500):
        a = rng.choice(attrs)
        op = rng.choice(["set", "set", "get", "del", "all"])
        if op == "set":
            v = rng.choice([1, "v", None, [step], {"s": step}])
            assert client.ok("ns.set", "n", a, v) is None
            model[a] = v
        elif op == "get":
            r = client.call("ns.get", "n", a)
            if a in model:
                assert (r.status, r.result) == (0, model[a])
            else:
                assert r.status == E.NOKEY
        elif op == "del":
            r = client.call("ns.del", "n", a)
            if a in model:
                del model[a]
                assert (r.status, r.result) == (0, None)
            else:
                assert r.status == E.NOKEY
        else:
            assert list(client.ok("ns.all", "n").items()) == list(model.items())
    # Every byte stored is accounted for, and given back.
    client.ok("delete", "n")
    assert held_memory(client) == 0


def test_missing_namespace_reads_as_empty(client):
    assert client.ok("ns.all", "ghost") == {}
    assert client.err("ns.get", "ghost", "a") == E.NOKEY
    assert client.ok("exists", "ghost") is False
    assert client.err("ns.del", "ghost", "a") == E.NOKEY   # a failed write creates nothing
    assert client.ok("exists", "ghost") is False


def test_attribute_names_are_exact_strings(client):
    client.ok("ns.set", "n", "A", 1)
    client.ok("ns.set", "n", "a", 2)
    client.ok("ns.set", "n", "a ", 3)
    assert client.ok("ns.all", "n") == {"A": 1, "a": 2, "a ": 3}
    # A str8-encoded attribute name is the same attribute (canonical keys).
    from ipcwire import frame, pack
    client.send_raw(frame(b"\x94" + pack(7) + pack("ns.get") + pack("n") + b"\xd9\x01a"))
    r = client.recv()
    assert (r.id, r.status, r.result) == (7, 0, 2)


def test_too_deep_value_is_badvalue(client):
    client.ok("ns.set", "n", "keep", 1)
    assert client.err("ns.set", "n", "x", nested(25)) == E.BADVALUE
    assert client.ok("ns.all", "n") == {"keep": 1}


def test_ns_and_dict_are_different_types(client):
    client.ok("ns.set", "n", "a", 1)
    assert client.err("dict.get", "n", "a") == E.WRONGTYPE
    assert client.err("dict.set", "n", "a", 1) == E.WRONGTYPE
    client.ok("dict.set", "d", "a", 1)
    assert client.err("ns.get", "d", "a") == E.WRONGTYPE
    assert client.err("ns.all", "d") == E.WRONGTYPE


@pytest.mark.parametrize("op,args", [
    ("ns.set", ()), ("ns.set", ("a",)), ("ns.set", (1, 1)), ("ns.set", (None, 1)), ("ns.set", (b"a", 1)),
    ("ns.set", ("a", 1, 2)),
    ("ns.get", ()), ("ns.get", (1,)), ("ns.get", ("a", "b")),
    ("ns.del", ()), ("ns.del", ([],)), ("ns.del", ("a", 1)),
    ("ns.all", ("a",)),
])
def test_bad_arguments(client, op, args):
    assert client.err(op, "n", *args) == E.BADARG
    assert client.ok("exists", "n") is False


@pytest.mark.parametrize("op,args", [("ns.set", ("a", 1)), ("ns.get", ("a",)), ("ns.del", ("a",)), ("ns.all", ())])
def test_bad_names(client, op, args):
    assert client.err(op, "", *args) == E.BADNAME
    assert client.err(op, "x" * 256, *args) == E.BADNAME
    assert client.err(op, "a\x00", *args) == E.BADNAME
