"""Limits set with -o: max_frame, max_clients, max_name, max_memory,
max_output, max_depth."""
import socket

import pytest

from conftest import MAX_MEMORY
from ipcwire import Client, E, frame, nested, ping_body, request_bytes, wait_until


# ---- max_frame ------------------------------------------------------------------------

def test_max_frame(small_frame_daemon):
    d = small_frame_daemon
    other = d.connect()
    c = d.connect()
    assert c.hello_reply["max_frame"] == 1024
    c.send_raw(frame(ping_body(1024, rid=3)))
    r = c.recv()
    assert (r.id, r.status) == (3, 0)
    c.send_raw(frame(ping_body(1025, rid=4)))
    r = c.recv()
    assert (r.id, r.status) == (0, E.TOOBIG)
    assert "1024" in r.result
    assert c.expect_closed()
    assert other.ok("ping") == "pong"
    # Requests under the limit keep working, for new connections too.
    c = d.connect()
    assert c.ok("queue.put", "q", "y" * 900) == 1
    assert c.ok("queue.get", "q") == "y" * 900


def test_max_frame_applies_before_hello(small_frame_daemon):
    c = small_frame_daemon.connect(hello=False)
    c.send_raw(b"\x00\x01\x00\x00")
    r = c.recv()
    assert (r.id, r.status) == (0, E.TOOBIG)
    assert c.expect_closed()


def test_max_frame_bounds_requests_not_replies(small_frame_daemon):
    c = small_frame_daemon.connect()
    for i in range(5):
        c.ok("list.append", "l", "z" * 800)
    assert c.ok("list.range", "l") == ["z" * 800] * 5


# ---- max_clients ------------------------------------------------------------------------

def refused(path):
    """Connect past max_clients: the MAXCLIENTS frame (id 0), then EOF."""
    c = Client(path, hello=False)
    try:
        r = c.recv()
        assert (r.id, r.status) == (0, E.MAXCLIENTS), r
        assert c.expect_closed()
    finally:
        c.close()


def test_max_clients(two_clients_daemon):
    d = two_clients_daemon
    c1, c2 = d.connect(), d.connect()
    refused(d.sock_path)
    refused(d.sock_path)
    assert c1.ok("ping") == "pong"
    assert c2.ok("info")["clients"] == 2
    c1.close()
    wait_until(lambda: c2.ok("info")["clients"] == 1, what="the closed client to be counted out")
    c3 = d.connect()
    assert c3.ok("ping") == "pong"
    refused(d.sock_path)
    assert c2.ok("ping") == "pong"


def test_max_clients_counts_a_blocked_client(two_clients_daemon):
    d = two_clients_daemon
    c1, c2 = d.connect(), d.connect()
    c1.send("queue.get", "q")
    wait_until(lambda: c2.ok("stat", "q")["waiting"] == 1 if c2.ok("exists", "q") else False,
               what="get to park")
    refused(d.sock_path)
    c2.ok("queue.put", "q", 1)
    assert c1.recv().result == 1


# ---- max_name ------------------------------------------------------------------------

def test_max_name(short_name_daemon):
    c = short_name_daemon.connect()
    assert c.hello_reply["max_name"] == 8
    assert c.ok("create", "12345678", "queue") is True
    assert c.err("create", "123456789", "queue") == E.BADNAME
    assert c.ok("queue.put", "abcdefgh", 1) == 1
    assert c.err("queue.put", "abcdefghi", 1) == E.BADNAME
    assert c.ok("ns.set", "éééé", "attr-names-are-not-object-names", 1) is None   # 8 bytes
    assert c.err("ns.set", "ééééé", "a", 1) == E.BADNAME                         # 10 bytes
    assert c.err("exists", "x" * 9) == E.BADNAME
    assert c.ok("exists", "x" * 8) is False
    assert sorted(n for n, _ in c.ok("ls")[1]) == sorted(["12345678", "abcdefgh", "éééé"])
    # Keys and values are not names.
    assert c.ok("dict.set", "d", "k" * 100, "v" * 100) is None


# ---- max_memory ------------------------------------------------------------------------

def fill_until_nomem(c, name, item, limit=10000):
    n = 0
    while True:
        r = c.call("queue.put", name, item)
        if r.status == E.NOMEM:
            return n
        assert r.status == 0, r
        n += 1
        assert n < limit, "max_memory never reached"


def test_max_memory_refuses_writes_keeps_reads_and_deletes(small_memory_daemon):
    c = small_memory_daemon.connect()
    item = "m" * 1000
    c.ok("dict.set", "d", "small", 1)
    c.ok("list.extend", "l", [1, 2, 3])
    c.ok("ns.set", "n", "a", 1)
    n = fill_until_nomem(c, "q", item)
    assert MAX_MEMORY // 1100 <= n <= MAX_MEMORY // 1000
    info = c.ok("info")
    assert info["max_memory"] == MAX_MEMORY
    assert MAX_MEMORY - 1100 < info["memory"] <= MAX_MEMORY
    # Every op that stores something is refused, and changes nothing.
    assert c.err("queue.put", "q", item) == E.NOMEM
    assert c.err("queue.put_many", "q", ["a", item]) == E.NOMEM
    assert c.err("list.append", "l", item) == E.NOMEM
    assert c.err("list.extend", "l", [4, item]) == E.NOMEM
    assert c.err("list.insert", "l", 0, item) == E.NOMEM
    assert c.err("list.set", "l", 0, item) == E.NOMEM
    assert c.err("dict.set", "d", "k", item) == E.NOMEM
    assert c.err("dict.update", "d", {"x": 1, "y": item}) == E.NOMEM
    assert c.err("dict.setdefault", "d", "z", item) == E.NOMEM
    assert c.err("dict.cas", "d", "small", 1, item) == E.NOMEM
    assert c.err("ns.set", "n", "b", item) == E.NOMEM
    assert c.err("queue.put", "q", "x" * (2 * MAX_MEMORY)) == E.NOMEM
    # Reads work.
    assert c.ok("queue.qsize", "q") == n
    assert c.ok("dump", "q") == [item] * n
    assert c.ok("list.range", "l") == [1, 2, 3]
    assert c.ok("dict.get", "d", "small") == 1
    assert c.ok("dict.len", "d") == 1
    assert c.ok("ns.all", "n") == {"a": 1}
    assert c.ok("stat", "q")["size"] == n
    assert c.ok("ping", item) == item
    assert c.ok("ls")[0] == 0
    # A get makes room for one more put.
    assert c.ok("queue.get", "q") == item
    assert c.ok("queue.put", "q", item) == n
    assert c.err("queue.put", "q", item) == E.NOMEM
    # Removing is not storing.
    assert c.ok("list.pop", "l") == 3
    assert c.ok("dict.pop", "d", "small") == 1
    assert c.ok("ns.del", "n", "a") is None
    assert c.ok("list.clear", "l") is None
    assert c.ok("queue.get_many", "q", 2) == [item, item]
    # Deleting frees everything; writes work again.
    for name in ("q", "l", "d", "n"):
        assert c.ok("delete", name) is None
    assert c.ok("info")["memory"] == 0
    assert c.ok("queue.put", "q", item) == 1
    assert c.ok("list.append", "l", item) == 1
    assert c.ok("dict.set", "d", "k", item) is None
    assert c.ok("ns.set", "n", "b", item) is None


def test_max_memory_counts_dict_keys(small_memory_daemon):
    c = small_memory_daemon.connect()
    n = 0
    while True:
        r = c.call("dict.set", "d", "key-%06d-" % n + "k" * 500, None)
        if r.status == E.NOMEM:
            break
        assert r.status == 0
        n += 1
        assert n < 1000
    assert n <= MAX_MEMORY // 500
    assert c.ok("dict.len", "d") == n
    assert c.err("ns.set", "ns", "a" * 600, 1) == E.NOMEM
    assert c.ok("dict.clear", "d") is None
    assert c.ok("delete", "d") is None
    assert c.ok("info")["memory"] == 0
    assert c.ok("dict.set", "d", "k" * 600, 1) is None


def test_max_memory_with_blocked_putters_and_clear(small_memory_daemon):
    c = small_memory_daemon.connect()
    item = "p" * 1000
    n = fill_until_nomem(c, "q", item)
    assert c.ok("queue.clear", "q") == n
    assert c.ok("delete", "q") is None
    assert c.ok("info")["memory"] == 0
    assert fill_until_nomem(c, "q", item) == n


def test_max_memory_counts_objects_and_names(small_memory_daemon):
    """An object costs its structure, its name and its registry entry, not
    only what it holds: one tiny item per new name reaches max_memory after
    a few hundred names, not tens of thousands."""
    c = small_memory_daemon.connect()
    n = 0
    while True:
        r = c.call("queue.put", "name-%06d-" % n + "n" * 100, 1)
        if r.status:
            break
        n += 1
        assert n < 20000, "max_memory never reached: objects are not counted"
    assert r.status == E.NOMEM and "max_memory" in r.result
    assert n <= MAX_MEMORY // 200
    info = c.ok("info")
    assert info["objects"] == n and info["memory"] <= MAX_MEMORY
    # The refused put left nothing; a delete gives room for another object.
    assert c.ok("exists", "name-%06d-" % n + "n" * 100) is False
    c.ok("delete", "name-%06d-" % 0 + "n" * 100)
    assert c.ok("queue.put", "another", 1) == 1
    for i in range(1, n):
        c.ok("delete", "name-%06d-" % i + "n" * 100)
    c.ok("delete", "another")
    assert c.ok("info")["memory"] == 0


# (op, arguments after the name, what one such object really costs at least)
ONE_ITEM_OBJECTS = [
    ("dict.set", ["k", 1], 850),      # arrays of 8 entries and 16 index cells
    ("ns.set", ["k", 1], 850),
    ("list.append", [1], 580),        # a deque of 8 slots
    ("queue.put", [1], 700),          # slot and age arrays of 8, a run of 64 bytes
]


@pytest.mark.parametrize("op,args,cost", ONE_ITEM_OBJECTS, ids=[o for o, _, _ in ONE_ITEM_OBJECTS])
def test_max_memory_counts_the_room_an_objects_arrays_keep(small_memory_daemon, op, args, cost):
    """An object of one item holds arrays with room for more (more than
    its object, name and item together): they are counted, so one-item
    objects on new names stop well before a count that leaves them out."""
    c = small_memory_daemon.connect()
    n = 0
    while True:
        r = c.call(op, "o%05d" % n, *args)
        if r.status:
            break
        n += 1
        assert n < 5000
    assert r.status == E.NOMEM
    assert n <= MAX_MEMORY // cost, "%d one-item objects fit in %d bytes: their arrays are not counted" % (
        n, MAX_MEMORY)
    for i in range(n):
        c.ok("delete", "o%05d" % i)
    assert c.ok("info")["memory"] == 0


def test_max_memory_counts_a_dicts_growth_before_it_grows(small_memory_daemon):
    c = small_memory_daemon.connect()
    n = 0
    while c.call("dict.set", "big", n, None).status == 0:
        n += 1
        assert n < 20000
    assert c.ok("info")["memory"] <= MAX_MEMORY
    assert c.ok("dict.len", "big") == n
    for i in range(n - 1):                 # emptied, its arrays shrink and are counted less
        c.ok("dict.del", "big", i)
    shrunk = c.ok("info")["memory"]
    assert shrunk < MAX_MEMORY // 8, shrunk
    assert c.ok("dict.clear", "big") is None
    c.ok("delete", "big")
    assert c.ok("info")["memory"] == 0


def test_max_memory_counts_a_lists_room_as_it_changes(small_memory_daemon):
    """What a list's room is counted for follows it as it grows and shrinks,
    and goes with it."""
    c = small_memory_daemon.connect()
    for i in range(600):
        c.ok("list.append", "x", i)
    grown = c.ok("info")["memory"]
    for i in range(600):
        c.ok("list.pop", "x")
    assert c.ok("info")["memory"] < grown
    c.ok("delete", "x")
    assert c.ok("info")["memory"] == 0


def test_max_memory_counts_a_queues_room_as_it_changes(small_memory_daemon):
    """A queue's slots and the unused part of its runs are counted (`stat`
    shows them as `room`) as it grows and shrinks, and go with it."""
    c = small_memory_daemon.connect()
    c.ok("queue.put", "q", b"x" * 16)
    one = c.ok("stat", "q")["room"]
    assert one > 64                               # a run of 64 bytes and two arrays of 8 slots
    assert c.ok("info")["memory"] > one
    for i in range(9):                            # runs of one shape, closed by another: each
        c.ok("queue.put_many", "q", [b"%016d" % j for j in range(9)] + [i])   # keeps unused room
    grown = c.ok("stat", "q")["room"]
    assert grown > 4 * one, (one, grown)
    c.ok("queue.get_many", "q", 1000)
    assert c.ok("stat", "q")["room"] < grown
    c.ok("delete", "q")
    assert c.ok("info")["memory"] == 0


@pytest.mark.parametrize("op,args", [("queue.put", []), ("list.append", []),
                                     ("queue.put", [None, None, {"priority": 1}]),
                                     ("queue.put", [None, None, {"delay": 1000}]),
                                     ("queue.put", ["x" * 84, None, {"deliveries": 3}])],
                         ids=["queue.put", "list.append", "queue.put-priority", "queue.put-delay",
                              "queue.put-deliveries"])
def test_max_memory_refuses_a_write_before_its_arrays_grow_past_it(small_memory_daemon, op, args):
    """The slot arrays of a queue or a list, a queue's runs and its priority
    and delay heaps double as they grow: a write whose growth would pass
    max_memory is refused before it happens, so the count never passes the
    limit."""
    c = small_memory_daemon.connect()
    while True:
        r = c.call(op, "o", *(args or [None]))
        assert c.ok("info")["memory"] <= MAX_MEMORY
        if r.status:
            break
    assert r.status == E.NOMEM
    c.ok("delete", "o")
    assert c.ok("info")["memory"] == 0


def test_max_objects(make_daemon):
    d = make_daemon("-o", "max_objects=3")
    c = d.connect()
    assert c.ok("info")["max_objects"] == 3
    c.ok("queue.put", "q", 1)
    c.ok("list.append", "l", 1)
    assert c.ok("create", "d", "dict") is True
    for op, args in (("queue.put", ["q2", 1]), ("dict.set", ["d2", "k", 1]), ("create", ["n", "ns"])):
        r = c.call(op, *args)
        assert r.status == E.NOMEM and "max_objects (3)" in r.result, (op, r)
    assert c.ok("info")["objects"] == 3
    # Writes to the existing objects go on; a wait on a free name is refused too.
    assert c.ok("queue.put", "q", 2) == 2
    assert c.err("queue.get", "free", 1) == E.NOMEM
    c.ok("delete", "q")
    assert c.ok("queue.put", "q2", 1) == 1


def test_max_objects_default(daemon):
    assert daemon.connect().ok("info")["max_objects"] == 1000000


# ---- max_input, max_input_total -------------------------------------------------------

def test_partial_frames_are_bounded_by_max_input_total(make_daemon):
    """Connections stalled short of a large frame cannot pile up input past
    max_input_total: the one holding the most is closed, the others serve."""
    d = make_daemon("-o", "max_frame=1M", "-o", "max_input_total=2M")
    bystander = d.connect(name="bystander")
    assert bystander.ok("info")["input"] < 64         # only the info request itself
    stalled = []
    for i in range(3):
        c = d.connect(name="stalled-%d" % i)
        c.send_raw((1 << 20).to_bytes(4, "big") + b"\x00" * (800 * 1024 - 8 * i))
        stalled.append(c)
        wait_until(lambda: bystander.ok("info")["input"] >= min(i + 1, 2) * 790 * 1024 or
                   bystander.ok("info")["clients"] < i + 2, what="the partial frame to arrive")
    wait_until(lambda: bystander.ok("info")["clients"] == 3, what="one stalled connection to be closed")
    assert stalled[0].expect_closed()                  # the largest partial frame
    info = bystander.ok("info")
    assert info["input"] <= 2 << 20
    assert bystander.ok("queue.put", "q", "x" * 1000) == 1


@pytest.mark.socket_only('input the daemon buffers from a socket; on the channel the ring holds it')
def test_max_input_bounds_what_a_waiting_client_buffers(make_daemon):
    d = make_daemon("-o", "max_input=64K")
    c, other = d.connect(), d.connect(name="other")
    rid = c.send("queue.get", "q")
    wait_until(lambda: other.ok("exists", "q"), what="the get to park")
    from ipcwire import request_bytes
    pings = b"".join(request_bytes(1000 + i, "ping", "p" * 1000) for i in range(2000))   # about 2 MB
    import threading
    t = threading.Thread(target=c.sock.sendall, args=(pings,), daemon=True)
    t.start()
    wait_until(lambda: other.ok("info")["input"] >= 64 * 1024, what="input to be buffered")
    assert other.ok("info")["input"] <= 64 * 1024 + 64 * 1024      # max_input plus one read
    other.ok("queue.put", "q", "go")
    r = c.recv()
    assert (r.id, r.result) == (rid, "go")
    for i in range(2000):
        assert c.recv().id == 1000 + i
    t.join(10)
    assert other.ok("info")["input"] < 64             # only the info request itself


def test_nomem_does_not_close_the_connection(small_memory_daemon):
    c = small_memory_daemon.connect()
    for _ in range(5):
        assert c.err("list.append", "l", "x" * (MAX_MEMORY + 1)) == E.NOMEM
        assert c.ok("ping") == "pong"


# ---- max_output and max_depth ------------------------------------------------------------

def test_max_output_single_reply_too_big_keeps_the_connection(make_daemon):
    d = make_daemon("-o", "max_output=1M", "-o", "max_frame=512K")
    c = d.connect()
    for _ in range(5):
        c.ok("list.append", "l", "x" * 400000)
    r = c.call("list.range", "l")
    assert r.status == E.TOOBIG and "max_output" in r.result and "1048576" in r.result, r
    assert c.ok("ping") == "pong"
    assert c.ok("list.len", "l") == 5
    assert c.ok("list.range", "l", 0, 2) == ["x" * 400000] * 2


def test_max_output_pipelined_replies_all_arrive(make_daemon):
    d = make_daemon("-o", "max_output=65536", "-o", "max_frame=32K")
    c = d.connect()
    c.ok("list.extend", "l", ["y" * 1000] * 8)
    # 100 replies of 8 KB to small requests: 12 times max_output, sent before any is read.
    c.send_raw(b"".join(request_bytes(10 + i, "list.range", "l") for i in range(100)))
    for i in range(100):
        r = c.recv()
        assert (r.id, r.status) == (10 + i, 0)
        assert len(r.result) == 8
    assert c.ok("ping") == "pong"
    assert "max_output" not in d.stderr()


@pytest.mark.parametrize("opts", [
    ["-o", "max_output=1M"],                                   # under the default max_frame
    ["-o", "max_frame=64K", "-o", "max_output=64K"],           # no room for the envelope
])
def test_max_output_below_max_frame_is_refused_at_start(make_daemon, opts):
    # A popped value that cannot be sent would be lost: refuse the pair up front.
    d = make_daemon(*opts, start=False)
    d.spawn()
    assert d.exit_code() != 0
    assert "max_output" in d.stderr() and "max_frame" in d.stderr()


def test_popped_value_always_fits_max_output(make_daemon):
    d = make_daemon("-o", "max_frame=8K", "-o", "max_output=9K")
    c = d.connect()
    big = "v" * (8 * 1024 - 64)            # as large as a frame can carry
    for op in ("queue.get", "queue.get_ack"):
        assert c.ok("queue.put", "q", big) == 1
        r = c.call(op, "q")
        assert r.status == 0, r
    assert c.ok("list.append", "l", big) == 1
    assert c.ok("list.pop", "l") == big
    assert c.ok("queue.qsize", "q") == 0


def test_get_many_stops_short_of_max_output_and_loses_nothing(make_daemon):
    d = make_daemon("-o", "max_frame=64K", "-o", "max_output=65K")
    c = d.connect()
    items = [("%02d" % i) * 10000 for i in range(10)]   # 20 KB each: three fit a reply
    for item in items[:5]:
        c.ok("queue.put", "q", item)
    for item in items[5:]:
        c.ok("queue.put", "q", item, None, {"priority": -1 if item is items[9] else 1})
    got = []
    while len(got) < 10:
        r = c.call("queue.get_many", "q", 10, 0)
        assert r.status == 0, r
        assert 1 <= len(r.result) <= 3
        got += r.result
    expect = [items[9]] + items[:5] + items[5:9]          # priority -1 first, 1 last
    assert got == expect
    assert c.ok("queue.qsize", "q") == 0
    assert "TOOBIG" not in d.stderr()


@pytest.mark.socket_only('replies piling up behind a full socket buffer')
def test_max_output_drops_a_client_that_does_not_read(make_daemon):
    d = make_daemon("-o", "max_output=65536", "-o", "output_timeout=1", "-o", "max_frame=32K")
    other = d.connect()
    greedy = d.connect()
    greedy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    req = frame(ping_body(8000))
    dropped = False
    try:
        for _ in range(2000):       # 16 MB of replies that are never read
            greedy.send_raw(req)
    except (BrokenPipeError, ConnectionResetError):
        dropped = True
    assert dropped or greedy.expect_closed()
    assert other.ok("ping") == "pong"
    wait_until(lambda: other.ok("info")["clients"] == 1, what="the greedy client to be dropped")
    # Logged as a limit breach, and the daemon did not keep 16 MB of replies.
    assert "warning: " in d.stderr() and "over max_output (65536), none read for output_timeout (1 s); " \
        "disconnecting" in d.stderr()
    rss_kb = daemon_rss_kb(d.pid)
    if not built_with_asan(d.pid):          # ASan's quarantine keeps freed memory
        assert rss_kb < 12 * 1024, "ipcd holds %d kB after dropping a 16 MB reader" % rss_kb
    assert other.ok("queue.put", "q", 1) == 1


def daemon_rss_kb(pid):
    """The high-water resident size of pid (VmHWM), in kB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for pid %d" % pid)


def built_with_asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


@pytest.mark.parametrize("depth", [1, 5, 30])
def test_max_depth_option(make_daemon, depth):
    d = make_daemon("-o", "max_depth=%d" % depth)
    c = d.connect()
    assert c.ok("list.append", "l", nested(depth)) == 1
    assert c.err("list.append", "l", nested(depth + 1)) == E.BADVALUE
    assert c.ok("dict.set", "d", nested(depth), 1) is None
    assert c.err("dict.set", "d", nested(depth + 1), 1) == E.BADVALUE


def test_parked_client_with_more_than_max_frame_buffered(small_frame_daemon):
    d = small_frame_daemon
    observer = d.connect()
    c = d.connect()
    c.send("queue.get", "q")
    wait_until(lambda: observer.ok("exists", "q") and observer.ok("stat", "q")["waiting"] == 1,
               what="get to park")
    # 100 frames of ~800 bytes: far more than one max_frame waits in line.
    batch = b"".join(frame(ping_body(800, rid=100 + i)) for i in range(100))
    c.send_raw(batch)
    assert observer.ok("ping") == "pong"
    observer.ok("queue.put", "q", "go")
    r = c.recv()
    assert (r.status, r.result) == (0, "go")
    for i in range(100):
        r = c.recv()
        assert (r.id, r.status) == (100 + i, 0)
    assert c.ok("ping") == "pong"
