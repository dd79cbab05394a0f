"""Values and arrays: typed numbers in shared memory. The server's ops
against Python's array module (same typecodes, same ranges), their errors,
the memfd handed over with a map reply (read-only really read-only, read-write
only with w access), both paths seeing the same bytes, and what survives a
restart: server-side writes always, writes through a mapping as of the last
snapshot (a clean stop writes one)."""
import array
import json
import mmap
import os
import random
import struct
import subprocess
import sys

import pytest

from ipcwire import E, OPS
from test_persist import Stateful

TYPECODES = "bBhHiIlLqQfd"
RANGES = {c: ((-(1 << (8 * array.array(c).itemsize - 1)), (1 << (8 * array.array(c).itemsize - 1)) - 1)
              if c.islower() else (0, (1 << (8 * array.array(c).itemsize)) - 1)) for c in "bBhHiIlLqQ"}


def mk_array(c, name, typecode, **opts):
    assert c.ok("create", name, "array", dict(typecode=typecode, **opts)) is True


def map_fd(c, op, name, mode=None):
    """Send a map request and read its reply with recvmsg: (result, fd)."""
    args = [name] if mode is None else [name, mode]
    c.send(op, *args)
    r, fds = c.recv_with_fds()
    status, result = r.status, r.result
    if status:
        assert not fds
        return status, None
    assert len(fds) == 1, "the map reply carries one descriptor"
    return result, fds[0]


@pytest.fixture
def stateful_daemon(make_daemon, tmp_path):
    s = Stateful(make_daemon, tmp_path)
    s.start()
    return s


# ---- server-side ops ------------------------------------------------------------


def test_create_options_and_stat(client):
    mk_array(client, "a", "i", length=4)
    assert client.ok("array.len", "a") == 4
    assert client.ok("array.typecode", "a") == "i"
    assert client.ok("array.slice", "a") == [0, 0, 0, 0]
    st = client.ok("stat", "a")
    assert (st["type"], st["typecode"], st["length"], st["itemsize"], st["size"]) == ("array", "i", 4, 4, 4)
    assert st["options"] == {"typecode": "i", "length": 4}
    # Idempotent for the same typecode and length; EXISTS otherwise.
    assert client.ok("create", "a", "array", {"typecode": "i", "length": 4}) is False
    assert client.ok("create", "a", "array", {"typecode": "i", "init": [1, 2, 3, 4]}) is False
    assert client.err("create", "a", "array", {"typecode": "i", "length": 5}) == E.EXISTS
    assert client.err("create", "a", "array", {"typecode": "d", "length": 4}) == E.EXISTS
    mk_array(client, "b", "d", init=[1, 2.5, -3])
    assert client.ok("array.slice", "b") == [1.0, 2.5, -3.0]
    assert client.ok("create", "v", "value", {"typecode": "q", "init": 7}) is True
    assert client.ok("value.get", "v") == 7
    assert client.ok("stat", "v")["options"] == {"typecode": "q"}
    assert client.ok("dump", "v") == [7]
    assert client.ok("type", "v") == "value"


@pytest.mark.parametrize("opts", [
    None, {}, {"typecode": "x", "length": 1}, {"typecode": "ii", "length": 1}, {"typecode": 105, "length": 1},
    {"typecode": "i"}, {"typecode": "i", "length": 0}, {"typecode": "i", "length": -1},
    {"typecode": "i", "length": 2, "init": [1, 2]}, {"typecode": "i", "init": []}, {"typecode": "i", "init": 3},
    {"typecode": "b", "init": [128]}, {"typecode": "B", "init": [-1]}, {"typecode": "i", "init": [1.5]},
    {"typecode": "c", "init": [b"ab"]}, {"typecode": "i", "length": 1, "size": 3},
])
def test_bad_create_options_create_nothing(client, opts):
    args = ["a", "array"] + ([] if opts is None else [opts])
    assert client.err("create", *args) in (E.BADARG, E.NOTFOUND)
    assert client.ok("exists", "a") is False


def test_value_refuses_a_length(client):
    assert client.err("create", "v", "value", {"typecode": "i", "length": 2}) == E.BADARG


def test_max_array_bytes(make_daemon):
    d = make_daemon("-o", "max_array_bytes=64")
    c = d.connect()
    assert c.ok("create", "a", "array", {"typecode": "q", "length": 8}) is True
    r = c.call("create", "b", "array", {"typecode": "q", "length": 9})
    assert r.status == E.BADARG and "max_array_bytes" in r.result
    assert c.ok("exists", "b") is False


def test_max_arrays(make_daemon):
    d = make_daemon("-o", "max_arrays=2")
    c = d.connect()
    assert c.ok("create", "v", "value", {"typecode": "i"}) is True
    assert c.ok("create", "a", "array", {"typecode": "i", "length": 2}) is True
    r = c.call("create", "b", "array", {"typecode": "i", "length": 2})
    assert r.status == E.NOMEM and "max_arrays" in r.result
    assert c.ok("exists", "b") is False
    c.ok("delete", "v")
    assert c.ok("create", "b", "array", {"typecode": "i", "length": 2}) is True


def test_missing_names_are_notfound_and_writes_create_nothing(client):
    for op, args in [("value.get", []), ("value.set", [1]), ("value.add", [1]), ("value.cas", [0, 1]),
                     ("value.typecode", []), ("value.map", [])]:
        assert client.err(op, "nope", *args) == E.NOTFOUND, op
    for op, args in [("array.get", [0]), ("array.set", [0, 1]), ("array.slice", []), ("array.set_slice", [0, 1, [1]]),
                     ("array.add", [0]), ("array.cas", [0, 0, 1]), ("array.len", []), ("array.typecode", []),
                     ("array.map", [])]:
        assert client.err(op, "nope", *args) == E.NOTFOUND, op
    assert client.ok("ls") == [0, []]


def test_wrong_type(client):
    client.ok("list.append", "l", 1)
    assert client.err("array.get", "l", 0) == E.WRONGTYPE
    client.ok("create", "v", "value", {"typecode": "i"})
    assert client.err("array.get", "v", 0) == E.WRONGTYPE
    assert client.err("list.len", "v") == E.WRONGTYPE


@pytest.mark.parametrize("tc", TYPECODES)
def test_each_typecode_matches_python_array(client, tc):
    rng = random.Random(tc)
    n = 16
    mk_array(client, "a", tc, length=n)
    model = array.array(tc, [0] * n)
    for step in range(300):
        i = rng.randrange(-n, n)
        op = rng.choice(["set", "get", "add", "cas", "slice", "set_slice"])
        if tc in "fd":
            v = rng.choice([0.5, -1.25, 3, 1e3, rng.uniform(-100, 100)])
        else:
            lo, hi = RANGES[tc]
            v = rng.choice([lo, hi, 0, 1, -1, lo - 1, hi + 1, rng.randint(lo, hi)])
            v = min(max(v, -2**63), 2**64 - 1)              # what msgpack can carry
        if op == "set":
            try:
                model[i] = v
            except OverflowError:
                assert client.err("array.set", "a", i, v) == E.OVERFLOW
                continue
            assert client.ok("array.set", "a", i, v) is None
        elif op == "get":
            assert client.ok("array.get", "a", i) == model[i]
        elif op == "add":
            d = rng.choice([1, -1, 7, v]) if tc not in "fd" else rng.choice([1, 0.25, v])
            if tc not in "fd" and not -2**63 <= d < 2**64:
                continue
            try:
                probe = array.array(tc, [model[i]])
                probe[0] = model[i] + d
            except OverflowError:
                before = client.ok("array.get", "a", i)
                assert client.err("array.add", "a", i, d) == E.OVERFLOW
                assert client.ok("array.get", "a", i) == before     # nothing changed
                continue
            model[i] = model[i] + d
            assert client.ok("array.add", "a", i, d) == model[i]
        elif op == "cas":
            expected = model[i] if rng.random() < 0.5 else (model[i] + 1 if tc in "fd" else 0)
            try:
                probe = array.array(tc, [v])
            except OverflowError:
                assert client.err("array.cas", "a", i, expected, v) == E.OVERFLOW
                continue
            swapped = expected == model[i]
            if swapped:
                model[i] = probe[0]
            assert client.ok("array.cas", "a", i, expected, v) == [swapped, model[i]]
        elif op == "slice":
            a, b = rng.randrange(-n - 3, n + 3), rng.randrange(-n - 3, n + 3)
            assert client.ok("array.slice", "a", a, b) == model[a:b].tolist()
            assert client.ok("array.slice", "a", None, b) == model[:b].tolist()
            assert client.ok("array.slice", "a", a) == model[a:].tolist()
        else:
            a, b = sorted([rng.randrange(0, n + 1), rng.randrange(0, n + 1)])
            vals = [rng.choice([1, 2, 3]) for _ in range(b - a)]
            model[a:b] = array.array(tc, vals)
            assert client.ok("array.set_slice", "a", a, b, vals) is None
    assert client.ok("array.slice", "a") == model.tolist()
    assert client.ok("dump", "a") == model.tolist()


def test_index_and_slice_errors(client):
    mk_array(client, "a", "i", init=[1, 2, 3])
    assert client.err("array.get", "a", 3) == E.INDEX
    assert client.err("array.get", "a", -4) == E.INDEX
    assert client.ok("array.get", "a", -1) == 3
    assert client.err("array.set", "a", 2**63, 1) == E.INDEX
    assert client.err("array.add", "a", 5) == E.INDEX
    assert client.err("array.cas", "a", -9, 1, 2) == E.INDEX
    # A slice assignment cannot change the length, and is all or nothing.
    assert client.err("array.set_slice", "a", 0, 2, [9]) == E.BADARG
    assert client.err("array.set_slice", "a", 0, 2, [9, 2**40]) == E.OVERFLOW
    assert client.err("array.set_slice", "a", 0, 2, [9, "x"]) == E.BADVALUE
    assert client.ok("array.slice", "a") == [1, 2, 3]
    assert client.ok("array.set_slice", "a", 5, 9, []) is None
    assert client.ok("array.slice", "a", 2, 1) == []
    assert client.err("array.get", "a", "0") == E.BADARG
    assert client.err("array.set", "a", 0, None) == E.BADVALUE
    assert client.err("array.set", "a", 0, 1.5) == E.BADVALUE
    assert client.err("array.add", "a", 0, 1.5) == E.BADVALUE


def test_value_ops_and_overflow_refused(client):
    client.ok("create", "v", "value", {"typecode": "b", "init": 126})
    assert client.ok("value.add", "v") == 127
    assert client.err("value.add", "v") == E.OVERFLOW
    assert client.ok("value.get", "v") == 127
    assert client.ok("value.add", "v", -255) == -128
    assert client.ok("value.set", "v", True) is None
    assert client.ok("value.get", "v") == 1
    assert client.ok("value.cas", "v", 2, 5) == [False, 1]
    assert client.ok("value.cas", "v", 1, 5) == [True, 5]
    assert client.ok("value.typecode", "v") == "b"
    assert client.err("value.set", "v", 200) == E.OVERFLOW
    client.ok("create", "f", "value", {"typecode": "f", "init": 0.1})
    assert client.ok("value.get", "f") == array.array("f", [0.1])[0]
    assert client.ok("value.add", "f", 1) == array.array("f", [array.array("f", [0.1])[0] + 1])[0]


def test_typecode_c_holds_one_byte(client):
    client.ok("create", "c", "value", {"typecode": "c", "init": b"x"})
    assert client.ok("value.get", "c") == b"x"
    assert client.ok("value.set", "c", b"\xff") is None
    assert client.ok("value.get", "c") == b"\xff"
    assert client.ok("value.set", "c", "a") is None
    assert client.ok("value.get", "c") == b"a"
    assert client.err("value.set", "c", b"ab") == E.BADVALUE
    assert client.err("value.set", "c", 1) == E.BADVALUE
    assert client.err("value.add", "c") == E.BADVALUE
    assert client.ok("value.cas", "c", b"a", b"b") == [True, b"b"]


def test_every_op_is_in_ops_def_at_its_codes():
    for name in ("value.get", "value.set", "value.add", "value.cas", "value.typecode", "value.map", "array.get",
                 "array.set", "array.slice", "array.set_slice", "array.add", "array.cas", "array.len",
                 "array.typecode", "array.map"):
        assert 130 <= OPS[name].code <= 159


# ---- shared memory --------------------------------------------------------------


def test_map_read_write_sees_the_server_and_back(client):
    mk_array(client, "a", "q", length=4)
    info, fd = map_fd(client, "array.map", "a", "rw")
    assert info == {"typecode": "q", "itemsize": 8, "length": 4, "size": 32, "writable": True}
    m = mmap.mmap(fd, 32, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    os.close(fd)
    view = memoryview(m).cast("q")
    client.ok("array.set", "a", 1, -5)
    assert view[1] == -5
    view[2] = 1 << 40
    assert client.ok("array.get", "a", 2) == 1 << 40
    assert client.ok("array.add", "a", 2, 1) == (1 << 40) + 1
    assert view[2] == (1 << 40) + 1
    st = client.ok("stat", "a")
    assert (st["maps_rw"], st["maps_ro"]) == (1, 0)
    view.release()
    m.close()


def test_a_read_only_mapping_cannot_write(client):
    mk_array(client, "a", "i", init=[1, 2])
    info, fd = map_fd(client, "array.map", "a")
    assert info["writable"] is False
    # No writable shared mapping through this descriptor ...
    with pytest.raises(PermissionError):
        mmap.mmap(fd, 8, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    with pytest.raises(OSError):
        os.write(fd, b"\0" * 4)
    # ... and none by opening it again (the memfd is 0400, the daemon's).
    if os.getuid() != 0 and os.getuid() != os.stat("/proc/self/fd/%d" % fd).st_uid:
        with pytest.raises(PermissionError):
            os.open("/proc/self/fd/%d" % fd, os.O_RDWR)
    m = mmap.mmap(fd, 8, mmap.MAP_SHARED, mmap.PROT_READ)
    os.close(fd)
    client.ok("array.set", "a", 0, 42)
    assert struct.unpack("<ii", m[:8]) == (42, 2)
    with pytest.raises(TypeError):
        m[0:4] = b"\0\0\0\0"
    m.close()
    # The same for a value; MODE is checked.
    client.ok("create", "v", "value", {"typecode": "d"})
    info, fd = map_fd(client, "value.map", "v", "r")
    assert info == {"typecode": "d", "itemsize": 8, "length": 1, "size": 8, "writable": False}
    os.close(fd)
    assert map_fd(client, "value.map", "v", "w")[0] == E.BADARG


def test_the_memfd_is_sealed(client):
    mk_array(client, "a", "B", length=10)
    _, fd = map_fd(client, "array.map", "a", "rw")
    with pytest.raises(PermissionError):
        os.ftruncate(fd, 4)
    with pytest.raises(PermissionError):
        os.ftruncate(fd, 1 << 20)
    os.close(fd)


def test_pipelined_maps_each_get_their_descriptor(client):
    for i in range(3):
        mk_array(client, "a%d" % i, "B", length=i + 1)
    for i in range(3):
        client.send("array.map", "a%d" % i)
    frames, fds = [], []
    for _ in range(3):
        r, f = client.recv_with_fds()
        frames.append(r.result)
        fds += f
    assert [f["length"] for f in frames] == [1, 2, 3]
    assert [os.fstat(fd).st_size for fd in fds] == [1, 2, 3]
    for fd in fds:
        os.close(fd)


def test_mapped_writes_survive_a_clean_stop_and_a_save_but_not_sigkill(stateful_daemon):
    s = stateful_daemon
    c = s.connect()
    mk_array(c, "a", "i", length=3)
    c.ok("array.set", "a", 0, 10)                       # server-side: in the log
    _, fd = map_fd(c, "array.map", "a", "rw")
    m = mmap.mmap(fd, 12)
    os.close(fd)
    m[4:8] = struct.pack("<i", 20)                      # through the mapping: in no log
    m.close()
    s.restart()                                         # a clean stop snapshots it
    c = s.connect()
    assert c.ok("array.slice", "a") == [10, 20, 0]
    _, fd = map_fd(c, "array.map", "a", "rw")
    m = mmap.mmap(fd, 12)
    os.close(fd)
    m[8:12] = struct.pack("<i", 30)
    c.ok("save")
    from test_persist import wait_snapshot
    wait_snapshot(c)
    m[8:12] = struct.pack("<i", 31)                     # after the last snapshot
    c.ok("array.add", "a", 0, 1)                        # logged: replayed
    m.close()
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("array.slice", "a") == [11, 20, 30]


def test_server_writes_survive_sigkill_and_a_snapshot_is_a_cut(stateful_daemon):
    s = stateful_daemon
    c = s.connect()
    c.ok("create", "v", "value", {"typecode": "Q"})
    mk_array(c, "a", "d", init=[0.5, 1.5])
    for _ in range(50):
        c.ok("value.add", "v", 3)
    c.ok("save")
    for _ in range(50):                                 # during and after the snapshot
        c.ok("value.add", "v", 3)
    c.ok("array.cas", "a", 1, 1.5, 2.5)
    from test_persist import wait_snapshot
    wait_snapshot(c)
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("value.get", "v") == 300
    assert c.ok("array.slice", "a") == [0.5, 2.5]
    assert c.ok("stat", "a")["options"] == {"typecode": "d", "length": 2}


# ---- access: another user ---------------------------------------------------------

from test_access import NOBODY, PEER, PEER_TIMEOUT, open_daemon, pytestmark as _needs_root, setpriv  # noqa: E402,F401


def map_as(d, uid, name):
    cmd = setpriv(uid, uid) + [sys.executable, PEER, d.sock_path, "map", name]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=PEER_TIMEOUT,
                       env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert p.returncode == 0, "peer failed: %s" % p.stderr
    return json.loads(p.stdout)


@_needs_root
def test_another_user_maps_read_only_and_cannot_write(open_daemon):
    d = open_daemon
    root = d.connect()
    assert root.ok("create", "shared", "array", {"typecode": "i", "init": [1, 2, 3], "mode": 0o644}) is True
    got = map_as(d, NOBODY, "shared")
    # no w bit: no read-write mapping, and no descriptor with the refusal
    assert (got["rw_status"], got["rw_fds"]) == (E.PERMISSION, 0)
    # r: a read-only descriptor that sees the data and lets nothing write
    assert (got["r_status"], got["r_fds"], got["read"]) == (0, 1, [1, 2, 3])
    assert got["mmap_write"] == "PermissionError"
    assert got["mprotect_write"] == "PermissionError"
    assert got["reopen_rw"] == "PermissionError"
    assert got["write"] != "allowed"
    assert got["chmod"] == "PermissionError"
    assert root.ok("array.slice", "shared") == [1, 2, 3]
    # with w, the same user gets the memfd itself
    root.ok("chmod", "shared", 0o666)
    assert map_as(d, NOBODY, "shared")["rw_fds"] == 1


def test_a_snapshot_holds_the_bytes_of_its_moment_not_the_adds_after_it(stateful_daemon):
    """The snapshot child sees the shared pages change after it forks; adds
    answered after the fork are in the log after the snapshot, so the
    snapshot must not hold them too (they would count twice)."""
    s = stateful_daemon
    c = s.connect()
    mk_array(c, "big", "B", length=32 << 20)            # written first: the child is slow to reach v
    c.ok("create", "v", "value", {"typecode": "q"})
    c.ok("save")
    for _ in range(200):
        c.ok("value.add", "v", 1)
    from test_persist import wait_snapshot
    wait_snapshot(c)
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("value.get", "v") == 200
