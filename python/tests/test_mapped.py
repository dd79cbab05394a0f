"""Value.map() and Array.map(): a memoryview over the daemon's shared
memory. Writes through a mapping are what server-side get sees, and
server-side writes are what the mapping shows, across processes; a
read-only mapping refuses writes; no descriptor is left behind."""
import gc
import multiprocessing as mp
import os

import pytest

import ipcd


def open_fds():
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def _child_writes(path, name, ready, go):
    ipcd.connect(path)
    arr = ipcd.Array(name, "q", 4)
    with arr.map(writable=True) as m:
        m[1] = -7            # seen by the parent's server-side get
        ready.set()
        assert go.wait(30)
        assert m[2] == 1000 + 5   # the parent's server-side add, seen here
        m[3] = m[2] * 2


def test_writes_through_a_mapping_and_server_side_ops_see_each_other_across_processes(daemon, client, name):
    arr = ipcd.Array(name, "q", 4)
    arr[2] = 1000
    ctx = mp.get_context("fork")
    ready, go = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_child_writes, args=(daemon.sock_path, name, ready, go))
    p.start()
    try:
        assert ready.wait(30)
        assert arr[1] == -7
        assert arr.add(2, 5) == 1005
        go.set()
        p.join(30)
        assert p.exitcode == 0
        assert arr[:] == [0, -7, 1005, 2010]
    finally:
        if p.is_alive():
            p.kill()
            p.join(10)


@pytest.mark.parametrize("typecode,value", [("b", -3), ("B", 250), ("h", -30000), ("H", 60000),
                                             ("i", -2 ** 31), ("I", 2 ** 32 - 1), ("l", -2 ** 63),
                                             ("L", 2 ** 64 - 1), ("q", 5), ("Q", 7), ("f", 1.5),
                                             ("d", -0.25), ("c", b"z")])
def test_a_view_has_the_typecode_of_its_array(client, name, typecode, value):
    arr = ipcd.Array(name, typecode, 3)
    with arr.map(True) as m:
        assert m.format == typecode and len(m) == 3 and not m.readonly
        m[2] = value
        assert arr[2] == value
        arr[0] = value
        assert m[0] == value and m.tolist()[1] in (0, 0.0, b"\0")


def test_value_map(client, name):
    v = ipcd.Value(name, "d", 2.5)
    with v.map() as m:
        assert len(m) == 1 and m[0] == 2.5 and m.readonly
        v.value = 4.0
        assert m[0] == 4.0
    with v.map(writable=True) as m:
        m[0] = 8.5
    assert v.value == 8.5 and v.add(1) == 9.5


def test_a_read_only_mapping_refuses_writes(client, name):
    arr = ipcd.Array(name, "i", 2)
    with arr.map() as m:
        assert m.readonly
        with pytest.raises(TypeError):
            m[0] = 1
    assert arr[0] == 0


def test_mapping_leaves_no_descriptor_behind(client, name):
    arr = ipcd.Array(name, "i", 16)
    v = ipcd.Value(name + ".v", "i")
    arr.map().release()           # the connection exists before counting
    before = open_fds()
    for i in range(50):
        with arr.map(writable=i % 2 == 0) as m:
            assert len(m) == 16
        v.map().release()
        m = arr.map()
        del m                         # dropped without release: unmapped when collected
    client.call("array.map", name)    # call() closes the descriptor it got
    client.pipeline([("array.map", [name]), ("value.map", [v.name]), ("ping", [])])
    assert open_fds() == before
    held = [arr.map() for _ in range(5)]   # each mapping holds one until released
    assert open_fds() == before + 5
    for m in held:
        m.release()
    assert open_fds() == before


def test_a_failed_map_takes_no_descriptor_and_the_next_gets_its_own(client, name):
    arr = ipcd.Array(name, "i", 4)
    arr[0] = 11
    with pytest.raises(ipcd.BadArg):
        client.call("array.map", name, "x")
    with pytest.raises(ipcd.WrongType):
        ipcd.Value(name, "i")
    with arr.map() as m:
        assert m[0] == 11
