"""Values: every msgpack type with Python's natural mapping; what msgpack
cannot carry is a TypeError naming its type; nothing is ever pickled."""
import datetime
import decimal

import msgpack
import pytest

import ipcd

ROUND_TRIP = [None, True, False, 0, -1, 2 ** 64 - 1, -(2 ** 63), 1.5, float("inf"), "", "héllo",
              b"", b"\x00\xff", [], [1, [2, [3]]], {}, {"a": {"b": [None]}}, {1: "int key"},
              msgpack.ExtType(5, b"ext"), "x" * 100000, b"y" * 100000]


@pytest.mark.parametrize("v", ROUND_TRIP, ids=lambda v: type(v).__name__)
def test_round_trip(client, name, v):
    assert client.ping(v) == v if v is not None else client.ping(v) == "pong"
    lst = ipcd.List(name)
    lst.append(v)
    got = lst[0]
    assert got == v and type(got) is type(v)


def test_natural_mapping(client, name):
    lst = ipcd.List(name)
    lst.extend([(1, 2), bytearray(b"ab"), memoryview(b"cd"), {"t": (3,)}])
    assert lst[:] == [[1, 2], b"ab", b"cd", {"t": [3]}]  # tuples as lists, buffers as bytes


def test_tuple_keys_come_back_as_tuples(client, name):
    d = ipcd.Dict(name)
    d[(1, ("a", b"b"))] = "v"
    assert list(d) == [(1, ("a", b"b"))]
    assert dict(d.items()) == {(1, ("a", b"b")): "v"}
    assert d[(1, ("a", b"b"))] == "v"


@pytest.mark.parametrize("bad", [{1, 2}, object(), datetime.datetime(2024, 1, 1),
                                 decimal.Decimal("1.5"), 1j, [1, {2}]],
                         ids=lambda v: type(v).__name__)
def test_unsupported_types_are_typeerror(client, name, bad):
    q = ipcd.Queue(name)
    with pytest.raises(TypeError) as ei:
        q.put(bad)
    inner = bad[1] if isinstance(bad, list) else bad
    assert type(inner).__qualname__ in str(ei.value)
    assert q.qsize() == 0  # nothing was sent; the connection still works


def test_too_deep_is_badvalue(client, name):
    v = []
    for _ in range(30):
        v = [v]
    with pytest.raises(ipcd.BadValue):
        ipcd.List(name).append(v)


def test_no_pickle_anywhere():
    import ipcd.client
    import ipcd.proxies
    for mod in (ipcd.client, ipcd.proxies):
        with open(mod.__file__) as f:
            src = f.read()
        assert "import pickle" not in src and "cPickle" not in src
