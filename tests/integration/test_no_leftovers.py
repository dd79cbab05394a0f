"""A request that fails leaves no object behind: an object is made by the
first write on its name that succeeds, or for as long as a request waits on
it, and an empty one made for a wait goes when its last waiter leaves."""
from conftest import MAX_MEMORY
from ipcwire import E, wait_until


def names(c):
    cursor, out = 0, []
    while True:
        cursor, page = c.ok("ls", "*", cursor, 1000)
        out += [n for n, _ in page]
        if cursor == 0:
            return sorted(out)


# (op, args after the name, the error it gets on a free name)
FAILING_ON_A_FREE_NAME = [
    ("queue.get", [0], E.EMPTY),
    ("queue.get_many", [3, 0], E.EMPTY),
    ("queue.get_ack", [0], E.EMPTY),
    ("queue.ack", [7], None),
    ("queue.nack", [7], None),
    ("queue.touch", [7], None),
    ("queue.task_done", [], None),
    ("list.pop", [], None),
    ("list.blpop", [0], None),
    ("list.brpop", [0], None),
    ("list.set", [0, 1], None),
    ("list.remove", [1], None),
    ("dict.del", ["k"], E.NOKEY),
    ("dict.pop", ["k"], E.NOKEY),
    ("dict.popitem", [], None),
    ("ns.del", ["a"], E.NOKEY),
]


def test_failed_ops_on_free_names_create_nothing(client):
    c = client
    for i, (op, args, code) in enumerate(FAILING_ON_A_FREE_NAME):
        name = "free-%d" % i
        r = c.call(op, name, *args)
        assert r.status != 0, (op, r)
        if code is not None:
            assert r.status == code, (op, r)
        assert not c.ok("exists", name), op
    assert names(c) == []
    assert c.ok("info")["objects"] == 0


def test_a_cas_that_does_not_swap_creates_nothing(client):
    c = client
    assert c.ok("dict.cas", "d", "k", 1, 2) is False   # "k" is missing, not 1
    assert names(c) == []
    assert c.ok("dict.cas", "d", "k", None, 2) is True  # missing, as expected: set
    assert names(c) == ["d"] and c.ok("dict.get", "d", "k") == 2
    assert c.ok("dict.cas", "d", "k", 1, 3) is False   # an existing dict stays, unchanged
    assert names(c) == ["d"] and c.ok("dict.get", "d", "k") == 2


# (op, args after the name): writes that succeed and change nothing on a free name
NO_OP_WRITES = [
    ("dict.update", [{}]),
    ("dict.clear", []),
    ("list.extend", [[]]),
    ("list.clear", []),
    ("queue.put_many", [[]]),
    ("queue.clear", []),
    ("event.clear", []),
    ("barrier.reset", []),
]


def test_writes_that_change_nothing_create_nothing(client):
    """A free name reads as an empty object: a write that leaves it so
    (an empty update, a clear) makes none, and on an existing object it
    keeps that object."""
    c = client
    for i, (op, args) in enumerate(NO_OP_WRITES):
        c.ok(op, "free-%d" % i, *args)
    assert names(c) == []
    assert c.ok("info")["objects"] == 0
    c.ok("list.append", "l", 1)
    c.ok("list.clear", "l")
    c.ok("queue.put", "q", 1)
    c.ok("queue.get", "q")
    c.ok("queue.clear", "q")
    c.ok("event.set", "e")
    c.ok("event.clear", "e")
    c.ok("event.clear", "e")
    assert names(c) == ["e", "l", "q"]
    assert c.err("queue.join", "q", 0) == E.TIMEOUT   # its task is still open: the queue kept it


def test_refused_writes_create_nothing(small_memory_daemon):
    c = small_memory_daemon.connect()
    big = "x" * (2 * MAX_MEMORY)
    assert c.err("dict.set", "d", "k", big) == E.NOMEM
    assert c.err("list.append", "l", big) == E.NOMEM
    assert c.err("queue.put", "q", big) == E.NOMEM
    assert c.err("queue.put_many", "qm", ["a", big]) == E.NOMEM
    assert c.err("ns.set", "n", "a", big) == E.NOMEM
    assert names(c) == []
    # A successful write still creates its object.
    assert c.ok("dict.set", "d", "k", 1) is None
    assert names(c) == ["d"]


def test_a_wait_that_times_out_leaves_nothing(client):
    c = client
    assert c.err("list.blpop", "bl", 0.05) == E.TIMEOUT
    assert c.err("queue.get", "bq", 0.05) == E.TIMEOUT
    assert names(c) == []


def test_a_parked_request_keeps_its_object_until_it_leaves(daemon):
    c, w = daemon.connect(), daemon.connect(name="waiter")
    w.send("queue.get", "pq")
    wait_until(lambda: c.ok("exists", "pq") and c.ok("stat", "pq")["waiting"] == 1,
               what="the get to park")
    assert names(c) == ["pq"]
    w.close()
    wait_until(lambda: not c.ok("exists", "pq"), what="the empty queue to go with its last waiter")


def test_a_wait_served_by_a_write_keeps_the_object(daemon):
    c, w = daemon.connect(), daemon.connect(name="waiter")
    w.send("list.blpop", "sl", 5)
    wait_until(lambda: c.ok("exists", "sl") and c.ok("stat", "sl")["waiting"] == 1,
               what="the pop to park")
    assert c.ok("list.append", "sl", "v") == 1
    assert w.recv().result == "v"
    # The append succeeded: the list is kept, empty, with its counters.
    assert c.ok("stat", "sl")["size"] == 0
    assert names(c) == ["sl"]


def test_create_keeps_a_name_made_for_a_wait(daemon):
    c, w = daemon.connect(), daemon.connect(name="waiter")
    w.send("queue.get", "cq")
    wait_until(lambda: c.ok("exists", "cq"), what="the get to park")
    assert c.ok("create", "cq", "queue") is False
    w.close()
    wait_until(lambda: c.ok("info")["clients"] == 1, what="the waiter to be gone")
    assert c.ok("exists", "cq")
