"""Server ops: hello, ping, info, ls; the handshake, ids and pipelining."""
import fnmatch

import pytest

from ipcwire import E, OPS, TYPES, wait_until


# ---- hello -----------------------------------------------------------------

def test_hello_reply_tells_version_and_limits(daemon):
    c = daemon.connect(hello=False)
    st, res = c.call("hello", 1, {"name": "demo"})
    assert st == 0
    assert res["version"] == 1
    assert res["server"].startswith("ipcd ")
    assert res["max_frame"] == 16 * 1024 * 1024
    assert res["max_name"] == 255
    assert c.ok("ping") == "pong"


def test_hello_by_code_without_options(daemon):
    c = daemon.connect(hello=False)
    assert c.ok(OPS["hello"].code, 1)["version"] == 1
    assert c.ok("ping") == "pong"


def test_hello_ignores_unknown_options(daemon):
    c = daemon.connect(hello=False)
    assert c.ok("hello", 1, {"name": "x", "colour": "blue", 7: [1, 2]})["version"] == 1
    assert c.ok("ping") == "pong"


@pytest.mark.parametrize("version", [0, 2, 99, 2**64 - 1])
def test_hello_wrong_version_gets_version_and_is_closed(daemon, version):
    other = daemon.connect()
    c = daemon.connect(hello=False)
    st, msg = c.call("hello", version)
    assert st == E.VERSION
    assert msg
    assert c.expect_closed()
    assert other.ok("ping") == "pong"


@pytest.mark.parametrize("args", [(), ("1",), (-1,), (1.0,), (1, "opts"), (1, [], ), (1, {}, 3)])
def test_hello_bad_arguments_badarg_keeps_connection(daemon, args):
    c = daemon.connect(hello=False)
    assert c.err("hello", *args) == E.BADARG
    # Not closed, and the session can still start.
    assert c.ok("hello", 1)["version"] == 1
    assert c.ok("ping") == "pong"


@pytest.mark.parametrize("op,args", [("ping", ()), ("queue.put", ("q", 1)), ("nosuch.op", ()),
                                     (OPS["info"].code, ()), (99, ())])
def test_request_before_hello_gets_protocol_and_is_closed(daemon, op, args):
    c = daemon.connect(hello=False)
    c.send(op, *args)
    r = c.recv()
    assert (r.id, r.status) == (0, E.PROTOCOL), r   # an error about the connection
    assert "hello" in r.result
    assert c.expect_closed()
    other = daemon.connect()
    assert other.ok("exists", "q") is False  # the rejected put changed nothing


def test_reply_echoes_request_id(client):
    for rid in (0, 1, 127, 128, 65535, 2**32, 2**64 - 1):
        client.send("ping", rid, rid=rid)
        r = client.recv()
        assert (r.id, r.status, r.result) == (rid, 0, rid)


def test_ops_by_code_and_by_name_are_the_same(client):
    # With no arguments every op either works (ping, info, ls) or wants
    # arguments (BADARG); by code and by name must agree, and never BADOP.
    # monitor works too, but then the connection is parked for good
    # (test_operator.py).
    for op in OPS.values():
        if op.name in ("hello", "monitor", "shm.open"):   # shm.open moves the frames off the socket
            continue
        by_name = client.call(op.name)
        by_code = client.call(op.code)
        assert by_name.status == by_code.status, op
        assert by_name.status != E.BADOP, op
        if op.min_args > 0:
            assert by_name.status == E.BADARG, op
        elif op.name == "save":   # a daemon without state_dir has nothing to save
            assert by_name.status == E.PERSIST, op
        else:
            assert by_name.status == 0, op


# ---- ping --------------------------------------------------------------------

def test_ping(client):
    assert client.ok("ping") == "pong"
    assert client.ok(OPS["ping"].code) == "pong"


@pytest.mark.parametrize("value", [None, True, False, 0, -1, 2**64 - 1, -2**63, 1.5, "", "héllo",
                                   b"\x00\xff", [], [1, [2, [3]]], {"a": {"b": [None]}},
                                   "x" * 70000])
def test_ping_echoes_value(client, value):
    assert client.ok("ping", value) == value


def test_ping_too_many_arguments(client):
    assert client.err("ping", 1, 2) == E.BADARG
    assert client.ok("ping") == "pong"


def test_pipelined_requests_answered_in_order(client):
    ids = []
    for i in range(300):
        if i % 3 == 0:
            ids.append(client.send("ping", i))
        elif i % 3 == 1:
            ids.append(client.send("queue.put", "pq", i))
        else:
            ids.append(client.send("nosuch", i))
    puts = 0
    for i, rid in enumerate(ids):
        r = client.recv()
        assert r.id == rid
        if i % 3 == 0:
            assert (r.status, r.result) == (0, i)
        elif i % 3 == 1:
            puts += 1
            assert (r.status, r.result) == (0, puts)
        else:
            assert r.status == E.BADOP
    assert client.ok("queue.qsize", "pq") == 100


def test_request_split_into_single_bytes(client):
    from ipcwire import request_bytes
    data = request_bytes(77, "ping", {"k": "v" * 40})
    for i in range(len(data)):
        client.send_raw(data[i:i + 1])
    r = client.recv()
    assert (r.id, r.status, r.result) == (77, 0, {"k": "v" * 40})


# ---- info --------------------------------------------------------------------

def test_info_fields(daemon, client):
    info = client.ok("info")
    for key in ("version", "protocol", "pid", "uptime", "clients", "clients_total", "objects",
                "objects_by_type", "memory", "shm_memory", "max_memory", "ops", "errors", "ops_by_name"):
        assert key in info, key
    assert isinstance(info["version"], str) and info["version"]
    assert info["protocol"] == 1
    assert info["pid"] == daemon.pid
    assert isinstance(info["uptime"], float) and 0 <= info["uptime"] < 60
    assert info["clients"] == 1
    assert info["clients_total"] == 1
    assert info["objects"] == 0
    assert info["objects_by_type"] == {t: 0 for t in TYPES}
    assert info["memory"] == info["shm_memory"]   # no objects: only rings, if the client has them
    assert info["shm_memory"] == (0 if client.rings is None else 4096 + 2 * client.rings.ring)
    assert info["max_memory"] == 0
    assert isinstance(info["ops"], int) and info["ops"] >= 1
    assert isinstance(info["errors"], int)
    assert isinstance(info["ops_by_name"], dict)


def test_info_counts_follow_activity(daemon, client):
    before = client.ok("info")
    others = [daemon.connect() for _ in range(3)]
    client.ok("queue.put", "q1", "x")
    client.ok("queue.put", "q1", "y")
    client.ok("queue.put", "q2", "z")
    client.ok("list.append", "l1", 1)
    client.ok("dict.set", "d1", "k", "v")
    client.ok("ns.set", "n1", "a", 1)
    client.ok("ns.set", "n2", "a", 1)
    assert client.err("nosuch") == E.BADOP
    assert client.err("dict.get", "d1", "missing") == E.NOKEY
    info = client.ok("info")
    assert info["clients"] == 4
    assert info["clients_total"] == 4
    assert info["objects"] == 6
    assert info["objects_by_type"] == dict({t: 0 for t in TYPES}, queue=2, list=1, dict=1, ns=2)
    assert info["memory"] > info["shm_memory"]
    assert info["ops"] >= before["ops"] + 8
    assert info["errors"] >= before["errors"] + 2
    assert info["ops_by_name"]["queue.put"] == 3
    assert info["ops_by_name"]["ns.set"] == 2
    assert info["ops_by_name"]["dict.get"] == 1
    assert "queue.get" not in info["ops_by_name"]
    for o in others:
        o.close()
    wait_until(lambda: client.ok("info")["clients"] == 1, what="closed clients to be counted")
    info = client.ok("info")
    assert info["clients_total"] == 4
    for name in ("q1", "q2", "l1", "d1", "n1", "n2"):
        client.ok("delete", name)
    info = client.ok("info")
    assert info["objects"] == 0
    assert info["objects_by_type"] == {t: 0 for t in TYPES}
    assert info["memory"] == info["shm_memory"]


def test_info_takes_no_arguments(client):
    assert client.err("info", 1) == E.BADARG


# ---- ls ----------------------------------------------------------------------

def ls_all(c, pattern=None, count=None, max_calls=100000):
    """Every [name, type] ls returns for pattern, following the cursor to 0."""
    out, cursor, calls = [], 0, 0
    while True:
        args = [pattern, cursor] + ([] if count is None else [count])
        nxt, page = c.ok("ls", *args)
        calls += 1
        if count:
            assert len(page) <= min(count, 10000)
        out.extend(page)
        if nxt == 0:
            return out
        assert nxt > cursor, "ls cursor went backwards: %r after %r" % (nxt, cursor)
        cursor = nxt
        assert calls < max_calls


CONTAINERS = ("queue", "list", "dict", "ns")


def make_names(c, n, prefix="obj"):
    """Create n objects of rotating types, pipelined; returns [(name, type)]."""
    made = [("%s-%04d" % (prefix, i), CONTAINERS[i % 4]) for i in range(n)]
    for name, t in made:
        c.send("create", name, t)
    for _ in made:
        r = c.recv()
        assert (r.status, r.result) == (0, True)
    return made


def test_ls_empty(client):
    assert client.ok("ls") == [0, []]
    assert client.ok("ls", None, 0, 10) == [0, []]
    assert client.ok("ls", "*") == [0, []]


def test_ls_default_page_is_100(client):
    make_names(client, 150)
    nxt, page = client.ok("ls")
    assert len(page) == 100 and nxt != 0
    nxt2, page2 = client.ok("ls", None, nxt)
    assert len(page2) == 50 and nxt2 == 0
    nxt, page = client.ok("ls", None, 0, 0)  # 0 = default
    assert len(page) == 100


@pytest.mark.parametrize("count", [None, 1, 7, 100, 999, 10000])
def test_ls_pages_return_every_name_once_in_creation_order(client, count):
    made = make_names(client, 2500)
    got = ls_all(client, count=count)
    assert [tuple(x) for x in got] == made


def test_ls_count_is_at_most_10000(client):
    n = 10050
    for i in range(n):
        client.send("create", "n%05d" % i, "list")
    for _ in range(n):
        assert client.recv().status == 0
    assert client.err("ls", None, 0, 10001) == E.BADARG
    nxt, page = client.ok("ls", None, 0, 10000)
    assert len(page) == 10000 and nxt != 0
    nxt, page = client.ok("ls", None, nxt, 10000)
    assert len(page) == 50 and nxt == 0


@pytest.mark.parametrize("pattern", ["*", "obj-1*", "obj-?0?7", "*[05]", "obj-[!1]*9", "*-00[1-3]?",
                                     "nomatch*", "obj-0042", "obj-2499"])
def test_ls_glob_patterns(client, pattern):
    made = make_names(client, 2500)
    expected = [x for x in made if fnmatch.fnmatchcase(x[0], pattern)]
    for count in (None, 10, 1000):
        got = ls_all(client, pattern, count)
        assert [tuple(x) for x in got] == expected, (pattern, count)


def test_ls_sparse_match_pages_may_be_short(client):
    make_names(client, 2500)
    client.ok("create", "zzz-needle", "dict")
    make_names(client, 500, prefix="more")
    # COUNT 5: each call looks at 50 names at most; the one match must come
    # back exactly once across many (mostly empty) pages.
    got = ls_all(client, "zzz-*", 5)
    assert got == [["zzz-needle", "dict"]]


def test_ls_names_present_for_the_whole_scan_come_back_once(client):
    made = make_names(client, 2500)
    stable = {name for i, (name, _) in enumerate(made) if i % 3 != 0}
    doomed = [name for i, (name, _) in enumerate(made) if i % 3 == 0]
    seen, cursor, calls, extra = [], 0, 0, 0
    while True:
        nxt, page = client.ok("ls", None, cursor, 37)
        seen.extend(n for n, _ in page)
        # Change the registry between pages: delete names ahead of and
        # behind the cursor, create new ones.
        for _ in range(10):
            if doomed:
                client.ok("delete", doomed.pop())
            client.ok("create", "late-%05d" % extra, "queue")
            extra += 1
        calls += 1
        assert calls < 10000
        if nxt == 0:
            break
        cursor = nxt
    for name in stable:
        assert seen.count(name) == 1, name
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("args", [(5,), ([],), (None, -1), (None, "0"), (None, 0, -5), (None, 0, 1.5),
                                  (None, 0, 10, 4), (b"*",)])
def test_ls_bad_arguments(client, args):
    assert client.err("ls", *args) == E.BADARG
    assert client.ok("ls") == [0, []]


def test_ls_pattern_with_a_nul_byte_matches_no_name(client):
    # Names never hold NUL, so neither may a match: BADARG or an empty scan.
    client.ok("create", "a", "queue")
    r = client.call("ls", "a\x00*")
    assert r.status == E.BADARG or (r.status == 0 and r.result == [0, []]), r


def test_ls_pattern_of_511_bytes_is_fine(client):
    client.ok("create", "a", "queue")
    assert client.ok("ls", "*" * 511) == [0, [["a", "queue"]]]


def test_half_closed_client_gets_every_answer_then_eof(daemon):
    import socket
    from ipcwire import request_bytes
    c = daemon.connect()
    c.send_raw(request_bytes(1, "queue.put", "q", 1) + request_bytes(2, "ping") + request_bytes(3, "queue.get", "q"))
    c.sock.shutdown(socket.SHUT_WR)
    replies = [c.recv() for _ in range(3)]
    assert [(r.id, r.status, r.result) for r in replies] == [(1, 0, 1), (2, 0, "pong"), (3, 0, 1)]
    assert c.expect_closed()
    other = daemon.connect()
    assert other.ok("queue.qsize", "q") == 0


@pytest.mark.socket_only("a socket's half-close")
def test_half_closed_client_whose_request_waits_gets_every_reply_before_it(daemon):
    # The first reply is bigger than the socket's buffers, so it is still
    # being written when the hang-up is read: it is written whole; the get
    # that waits is dropped unanswered (nothing is taken for it, and no
    # object is left for it), and the put sent after it does not run.
    import socket
    from ipcwire import request_bytes
    big = "x" * (4 << 20)
    other = daemon.connect()
    other.ok("ns.set", "n", "big", big)
    c = daemon.connect()
    c.send_raw(request_bytes(1, "ns.get", "n", "big") + request_bytes(2, "queue.get", "q") +
               request_bytes(3, "queue.put", "after", 1))
    wait_until(lambda: any(x["blocked"] for x in other.ok("clients")[1]), what="the get to park")
    c.sock.shutdown(socket.SHUT_WR)
    wait_until(lambda: not other.ok("exists", "q"), what="the hang-up to drop the get")
    r = c.recv()
    assert (r.id, r.status, r.result == big) == (1, 0, True)
    assert c.expect_closed()
    other.ok("queue.put", "q", "item")
    assert other.ok("queue.qsize", "q") == 1
    assert not other.ok("exists", "after")


# ---- coverage of ops.def and errors.def by this suite ----------------------------------

def _suite_text():
    import glob
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    text = ""
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        with open(path) as f:
            text += f.read()
    return text


def test_every_op_in_ops_def_is_exercised_by_name():
    text = _suite_text()
    missing = [name for name in OPS if '"%s"' % name not in text]
    assert not missing, "ops without an integration test: %s" % missing


def test_every_wire_error_is_asserted_somewhere():
    text = _suite_text()
    untestable = {"OK", "INTERNAL"}     # INTERNAL means a server bug
    missing = [name for name, code in E.by_name.items()
               if code < 100 and name not in untestable and "E.%s" % name not in text]
    assert not missing, "errors never asserted: %s" % missing
