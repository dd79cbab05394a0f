"""Bad input: garbage, truncated and oversized frames, malformed requests,
unknown ops, wrong argument types and names. For each: the error reply where
one is defined, the connection closed or kept as errors.def says, a second
client that keeps working throughout, and a daemon that never dies."""
import socket
import struct

import pytest

from ipcwire import E, OPS, frame, nested, pack, ping_body, request_bytes


@pytest.fixture(scope="module")
def shared_daemon():
    """One daemon for the per-op tests of this module: it must live through
    all of them (and starting one per op would cost more than the tests)."""
    import ipcd_testlib
    from conftest import Daemon
    factory = ipcd_testlib.daemon_factory(Daemon)
    make = next(factory)
    yield make()
    for _ in factory:   # teardown: stopped and checked like any other
        pass


@pytest.fixture
def shared_bystander(shared_daemon, request):
    """A bystander on the shared daemon, with objects of its own."""
    c = shared_daemon.connect(name="bystander")
    c.tag = request.node.name
    c.ok("queue.put", "bystander-q-" + c.tag, "before")
    yield c
    c.close()


def shared_still_fine(daemon, c):
    assert daemon.alive(), "ipcd died; stderr:\n" + daemon.stderr()
    assert c.ok("ping", c.tag) == c.tag
    assert c.ok("dump", "bystander-q-" + c.tag) == ["before"]
    fresh = daemon.connect()
    assert fresh.ok("ping") == "pong"
    fresh.close()


def names(c):
    """Every object name on c's daemon."""
    out, cursor = [], 0
    while True:
        cursor, page = c.ok("ls", None, cursor, 10000)
        out += [n for n, _ in page]
        if cursor == 0:
            return out


@pytest.fixture
def bystander(daemon):
    """A well-behaved client with some state, checked around every bad input."""
    c = daemon.connect(name="bystander")
    c.ok("queue.put", "bystander-q", "before")
    c.counter = 0
    return c


def still_fine(daemon, c):
    assert daemon.alive(), "ipcd died; stderr:\n" + daemon.stderr()
    c.counter += 1
    assert c.ok("ping", c.counter) == c.counter
    assert c.ok("list.append", "bystander-l", c.counter) == c.counter
    assert c.ok("list.get", "bystander-l", -1) == c.counter
    assert c.ok("dump", "bystander-q") == ["before"]
    # A fresh connection works too.
    fresh = daemon.connect()
    assert fresh.ok("ping") == "pong"
    fresh.close()


def expect_error_then_close(c, code, rid=0):
    r = c.recv()
    assert (r.id, r.status) == (rid, code), r
    assert isinstance(r.result, str) and r.result
    assert c.expect_closed()


# ---- frames ------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"\xc1",                          # a byte msgpack never uses
    b"\xc1" * 64,
    b"\x93\x01",                      # array of 3 with one element: truncated value
    b"\xa5ab",                        # str of 5 with 2 bytes
    b"\xdd\xff\xff\xff\xff",          # array32 claiming 4 billion elements
    b"\xdb\x7f\xff\xff\xff",          # str32 claiming 2 GiB
    b"\x92\x01\xa4ping\x00",          # one value plus a trailing byte
    pack(1) + pack(2),                # two values in one frame
])
@pytest.mark.parametrize("hello", [True, False])
def test_malformed_body_is_protocol_and_closes(daemon, bystander, body, hello):
    c = daemon.connect(hello=hello)
    c.send_raw(frame(body))
    expect_error_then_close(c, E.PROTOCOL)
    still_fine(daemon, bystander)


@pytest.mark.parametrize("value", [{"a": 1}, 5, "ping", None, b"\x01", [], [1.5, "ping"],
                                   [-1, "ping"], ["1", "ping"], [None, "ping"], [True, "ping"],
                                   [[1], "ping"]])
def test_request_that_is_not_id_op_array_is_protocol_and_closes(daemon, bystander, value):
    c = daemon.connect()
    c.send_value(value)
    expect_error_then_close(c, E.PROTOCOL)
    still_fine(daemon, bystander)


def test_unframed_garbage(daemon, bystander):
    # "GET " read as a length is over 1 GiB: TOOBIG, then closed.
    c = daemon.connect(hello=False)
    c.send_raw(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    expect_error_then_close(c, E.TOOBIG)
    still_fine(daemon, bystander)


def test_zero_length_frame_is_protocol_and_closes(daemon, bystander):
    c = daemon.connect()
    c.send_raw(b"\x00\x00\x00\x00")
    expect_error_then_close(c, E.PROTOCOL)
    still_fine(daemon, bystander)


@pytest.mark.parametrize("length", [2**30, 2**32 - 1, 16 * 2**20 + 1])
def test_huge_length_prefix_is_toobig_and_closes(daemon, bystander, length):
    c = daemon.connect()
    c.send_raw(struct.pack(">I", length) + b"\x93")   # the body never comes
    expect_error_then_close(c, E.TOOBIG)
    still_fine(daemon, bystander)


def test_frame_of_exactly_max_frame_is_fine(daemon, bystander):
    c = daemon.connect()
    limit = c.hello_reply["max_frame"]
    body = ping_body(limit)
    c.send_raw(frame(body))
    r = c.recv()
    assert (r.id, r.status, len(r.result)) == (1, 0, limit - 12)  # array, id, "ping", str32 header
    # One byte more: refused on the header alone, before the body is read.
    c.send_raw(frame(ping_body(limit + 1))[:4096])
    expect_error_then_close(c, E.TOOBIG)
    still_fine(daemon, bystander)


@pytest.mark.parametrize("sent", [
    b"\x00\x00",                                  # half a header
    b"\x00\x00\x00\x64" + b"\x94" * 10,           # a header for 100 bytes, 10 sent
    request_bytes(1, "ping")[:-1],                # all but the last byte
])
def test_truncated_frame_then_hang_up(daemon, bystander, sent):
    c = daemon.connect()
    c.send_raw(sent)
    c.sock.shutdown(socket.SHUT_WR)
    # Nothing to answer: the server closes without a reply.
    assert c.expect_closed()
    still_fine(daemon, bystander)
    c2 = daemon.connect()
    c2.send_raw(sent)
    c2.close()  # and an abrupt close
    still_fine(daemon, bystander)


def test_requests_before_garbage_are_answered_first(daemon, bystander):
    c = daemon.connect()
    c.send_raw(request_bytes(1, "queue.put", "q", "a") + request_bytes(2, "ping") + frame(b"\xc1")
               + request_bytes(3, "queue.put", "q", "never"))
    r1, r2 = c.recv(), c.recv()
    assert (r1.id, r1.status, r1.result) == (1, 0, 1)
    assert (r2.id, r2.status, r2.result) == (2, 0, "pong")
    expect_error_then_close(c, E.PROTOCOL)
    assert bystander.ok("dump", "q") == ["a"]
    still_fine(daemon, bystander)


def test_frame_nesting_limit(daemon, bystander):
    c = daemon.connect()
    # 32 levels with the request array: fine; ping echoes it.
    assert c.ok("ping", nested(31)) == nested(31)
    # Storing it is another matter: deeper than max_depth.
    assert c.err("queue.put", "q", nested(30)) == E.BADVALUE
    # 33 levels: malformed frame.
    c.send("ping", nested(32))
    expect_error_then_close(c, E.PROTOCOL)
    c = daemon.connect()
    c.send_raw(frame(b"\x93\x01\xa4ping" + b"\x91" * 5000 + b"\x01"))
    expect_error_then_close(c, E.PROTOCOL)
    still_fine(daemon, bystander)


def test_byte_by_byte_request_between_other_clients(daemon, bystander):
    c = daemon.connect()
    data = request_bytes(5, "queue.put", "slow", {"k": [1, 2, 3]})
    for i in range(len(data)):
        c.send_raw(data[i:i + 1])
        if i % 5 == 0:
            still_fine(daemon, bystander)
    r = c.recv()
    assert (r.id, r.status, r.result) == (5, 0, 1)


# ---- ops ---------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["nosuch", "", "queue.PUT", "queue", "ping ", "ls\x00", 0, 18, 34, 99, 127,
                                128, 255, 2**64 - 1, -1, 1.0, None, True, [2], {"op": 2}, b"ping"])
def test_unknown_op_is_badop_and_keeps_connection(daemon, bystander, op):
    c = daemon.connect()
    r = c.call(op, "q", 1)
    assert r.status == E.BADOP, r
    assert c.ok("ping") == "pong"
    assert c.ok("exists", "q") is False
    still_fine(daemon, bystander)


# Per signature letter: a valid argument, and arguments of the wrong type.
VALID = {"N": "obj", "S": "queue", "s": "*", "v": 1, "k": "key", "m": {}, "o": {}, "a": [], "i": 0,
         "I": None, "u": 1, "n": 1, "t": 0}
WRONG = {
    "N": [1, None, b"obj", ["obj"], True, 1.5],
    "S": [1, None, b"queue", [], {}],
    "s": [1, b"*", [], {}, True],
    "m": [[], "m", None, 1, b""],
    "o": [[], "o", None, 1],
    "a": [{}, "a", None, 1, b""],
    "i": ["1", None, 1.5, True, [], b"1"],
    "I": ["1", 1.5, True, [], {}],
    "u": [-1, -2**63, "1", None, 1.5, True],
    "n": ["1", None, True, [], float("inf"), float("-inf"), float("nan")],
    "t": [-1, -0.001, "1", True, [], float("nan"), float("-inf")],
    "v": [],
    "k": [],
}


def typed_ops():
    return [op for op in OPS.values() if op.name != "hello"]


@pytest.mark.parametrize("op", typed_ops(), ids=lambda op: op.name)
def test_wrong_argument_types_and_arity_are_badarg(shared_daemon, shared_bystander, op):
    daemon, bystander = shared_daemon, shared_bystander
    c = daemon.connect()
    letters = op.sig.replace("|", "")
    cases = []
    for i, letter in enumerate(letters):
        for bad in WRONG[letter]:
            n = max(i + 1, op.min_args)
            args = [VALID[ch] for ch in letters[:n]]
            args[i] = bad
            # A NAME that is not a str is a bad name, not a bad argument.
            cases.append((args, E.BADNAME if letter == "N" else E.BADARG))
    if op.min_args > 0:
        cases.append(([VALID[ch] for ch in letters[:op.min_args - 1]], E.BADARG))
    cases.append(([VALID[ch] for ch in letters] + [1], E.BADARG))
    cases.append(([VALID[ch] for ch in letters] + [None, None], E.BADARG))
    for args, _ in cases:                    # pipelined
        c.send(op.name, *args)
    for args, code in cases:
        r = c.recv()
        assert r.status == code, (op.name, args, r)
        assert op.name in r.result, r.result   # the message names the op
    # By code as well.
    for args, code in cases:
        assert c.call(op.code, *args).status == code, (op.code, args)
    assert "obj" not in names(c)   # nothing was created
    shared_still_fine(daemon, bystander)
    c.close()


def test_hello_argument_types(daemon, bystander):
    for args in ([], ["1"], [-1], [None], [1.0], [1, []], [1, "x"], [1, {}, 1], [1, {"name": 5}]):
        c = daemon.connect(hello=False)
        assert c.call("hello", *args).status == E.BADARG
        assert c.ok("hello", 1)["version"] == 1
        c.close()
    still_fine(daemon, bystander)


@pytest.mark.parametrize("op", [op for op in OPS.values() if "N" in op.sig], ids=lambda op: op.name)
def test_bad_names_are_badname(shared_daemon, shared_bystander, op):
    daemon, bystander = shared_daemon, shared_bystander
    c = daemon.connect()
    letters = op.sig.replace("|", "")
    rest = [VALID[ch] for ch in letters[1:op.min_args]]
    for name in ("", "x" * 256, "x" * 70000, "a\x00b", "\x00"):
        r = c.call(op.name, name, *rest)
        assert r.status == E.BADNAME, (op.name, name[:10], r)
    assert all(n.startswith("bystander-") for n in names(c))   # nothing was created
    shared_still_fine(daemon, bystander)
    c.close()


def test_every_error_keeps_or_closes_as_errors_def_says(daemon, bystander):
    # Non-closing errors: the connection goes on after each.
    c = daemon.connect()
    c.ok("create", "q", "queue", {"maxsize": 1})
    c.ok("queue.put", "q", 1)
    non_closing = [
        (("nosuch",), E.BADOP), (("ping", 1, 2), E.BADARG), (("exists", ""), E.BADNAME),
        (("type", "none"), E.NOTFOUND), (("list.len", "q"), E.WRONGTYPE),
        (("create", "q", "queue"), E.EXISTS), (("list.pop", "l"), E.INDEX),
        (("queue.put", "q", 2, 0), E.FULL), (("queue.get", "e", 0), E.EMPTY),
        (("queue.get", "e", 0.01), E.TIMEOUT), (("dict.get", "d", "k"), E.NOKEY),
        (("list.remove", "l", 9), E.NOVALUE), (("dict.incr", "d2", "k", 1), None),
        (("dict.set", "d2", "s", "x"), None), (("dict.incr", "d2", "s"), E.NOTNUMBER),
        (("dict.set", "d2", "big", 2**63 - 1), None), (("dict.incr", "d2", "big"), E.OVERFLOW),
        (("queue.put", "q", nested(25), 0), E.BADVALUE),
    ]
    for (op, *args), code in non_closing:
        r = c.call(op, *args)
        if code is None:
            assert r.status == 0, (op, r)
        else:
            assert r.status == code, (op, args, r)
            assert E.closes[code] is False
        assert c.ok("ping") == "pong"
    still_fine(daemon, bystander)
    for code in (E.PROTOCOL, E.VERSION, E.TOOBIG, E.MAXCLIENTS, E.SHUTDOWN):
        assert E.closes[code] is True


def test_many_clients_misbehaving_at_once(daemon, bystander):
    bad = []
    for i in range(40):
        c = daemon.connect(hello=(i % 2 == 0))
        kind = i % 5
        if kind == 0:
            c.send_raw(b"\xff\xff\xff\xff")
        elif kind == 1:
            c.send_raw(frame(b"\xc1"))
        elif kind == 2:
            c.send_raw(b"\x00\x00\x00\x10\x94")
        elif kind == 3:
            c.send("queue.get", "never-filled")
        else:
            c.send_raw(b"\x00\x00\x00\x00")
        bad.append(c)
    still_fine(daemon, bystander)
    for c in bad:
        c.close()
    from ipcwire import wait_until
    wait_until(lambda: bystander.ok("info")["clients"] == 1, what="misbehaving clients to be gone")
    # The queue existed for its waiters only: it went with the last of them.
    assert bystander.ok("exists", "never-filled") is False
    still_fine(daemon, bystander)
