"""Values: every msgpack type with Python's natural mapping; what msgpack
cannot carry is a TypeError naming its type; nothing is ever pickled."""
import datetime
import decimal
import socket
import struct

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


def _raw_call(sock, body):
    """One request frame out, one reply frame back (raw msgpack)."""
    sock.sendall(struct.pack(">I", len(body)) + body)
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        data += chunk
    return msgpack.unpackb(data[4:], raw=True)


def test_a_str_that_is_not_utf8_comes_back_exactly(client, daemon, name):
    # Another client (C, say) stores a str holding bytes that are not UTF-8:
    # sent here as raw frames, independent of how ipcd.pack encodes.
    raw = b"\xa4a\xff\xfeb"  # fixstr of 4 bytes
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(daemon.sock_path)
        assert _raw_call(sock, msgpack.packb([1, "hello", 1, {}]))[1] == 0
        put = b"\x94" + msgpack.packb(2) + msgpack.packb("queue.put") + msgpack.packb(name) + raw
        assert _raw_call(sock, put)[1] == 0
        q = ipcd.Queue(name)
        got = q.get_nowait()  # decodes without failing: the item is not lost
        assert got == "a\udcff\udcfeb"
        assert q.qsize() == 0
        q.put(got)  # and goes back as the very same bytes
        reply = _raw_call(sock, msgpack.packb([3, "queue.get", name, 0]))
        assert reply[1] == 0 and reply[2] == b"a\xff\xfeb", reply
