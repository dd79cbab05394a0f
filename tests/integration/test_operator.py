"""Operator tools on the server side: ls with a type filter and long entries
(size, waiting, pending, ops, rate), info's socket, config file, ops/s,
errors and monitor counters, the monitor stream (and its monitor_buffer for
a monitor that does not read), and dump one page at a time."""
import os
import socket
import time

import pytest

from ipcwire import E, request_bytes, wait_until

TYPES = ("queue", "list", "dict", "ns")
LONG_KEYS = {"name", "type", "size", "waiting", "pending", "ops", "rate", "owner", "group", "mode"}


def ls_all(c, pattern=None, count=None, **options):
    """Every entry ls returns, following the cursor to 0."""
    out, cursor = [], 0
    while True:
        args = [pattern, cursor, count or 0] + ([options] if options else [])
        cursor, page = c.ok("ls", *args)
        if count:
            assert len(page) <= count
        out += page
        if cursor == 0:
            return out


def ls_long(c, **options):
    """ls long entries by name."""
    return {e["name"]: e for e in ls_all(c, long=True, **options)}


def all_clients(c):
    cursor, out = 0, []
    while True:
        cursor, page = c.ok("clients", cursor)
        out += page
        if cursor == 0:
            return out


# ---- ls --------------------------------------------------------------------------

def test_ls_long_entries_for_every_type(daemon, client):
    for i in range(3):
        client.ok("queue.put", "q", i)
    client.ok("list.extend", "l", [1, 2])
    client.ok("dict.update", "d", {"a": 1, "b": 2})
    client.ok("ns.set", "n", "x", 1)
    # a get_ack not acked: pending 1 (and the item leaves the size)
    holder = daemon.connect(name="holder")
    delivery = holder.ok("queue.get_ack", "q", 0)
    assert delivery["value"] == 0
    # a getter and a popper parked on other connections: waiting 1
    getter, popper = daemon.connect(name="getter"), daemon.connect(name="popper")
    getter.send("queue.get", "wq")
    popper.send("list.blpop", "wl")
    wait_until(lambda: ls_long(client).get("wq", {}).get("waiting") == 1
               and ls_long(client).get("wl", {}).get("waiting") == 1, what="the getter and popper to park")

    es = ls_long(client)
    assert set(es) == {"q", "l", "d", "n", "wq", "wl"}
    for e in es.values():
        assert set(e) == LONG_KEYS, e
        st = client.ok("stat", e["name"])
        assert e["type"] == st["type"] and e["size"] == st["size"] and e["waiting"] == st["waiting"]
        assert e["ops"] == st["reads"] + st["writes"]
        assert isinstance(e["rate"], int) and e["rate"] >= 0
    assert (es["q"]["size"], es["q"]["pending"], es["q"]["waiting"]) == (2, 1, 0)
    assert (es["l"]["size"], es["l"]["pending"]) == (2, 0)
    assert (es["d"]["size"], es["n"]["size"]) == (2, 1)
    assert (es["wq"]["size"], es["wq"]["waiting"], es["wq"]["pending"]) == (0, 1, 0)
    assert (es["wl"]["size"], es["wl"]["waiting"]) == (0, 1)
    assert es["q"]["ops"] == 4          # 3 puts, 1 get_ack
    assert es["d"]["ops"] == 1 and es["n"]["ops"] == 1

    # the waiters leave, the entries follow
    client.ok("queue.put", "wq", "x")
    assert getter.recv().result == "x"
    holder.ok("queue.ack", "q", delivery["id"])
    es = ls_long(client)
    assert (es["wq"]["waiting"], es["q"]["pending"]) == (0, 0)
    # without long: [name, type], as before
    assert sorted(ls_all(client)) == sorted([n, es[n]["type"]] for n in es)


def test_ls_type_filter(client):
    for i in range(12):
        client.ok("create", "o%02d" % i, TYPES[i % 4])
    for t in TYPES:
        got = ls_all(client, type=t)
        assert got == [["o%02d" % i, t] for i in range(12) if TYPES[i % 4] == t]
        assert [e["name"] for e in ls_all(client, long=True, type=t)] == [n for n, _ in got]
    # with a pattern, and paged: the 10 x COUNT budget counts every name looked at
    assert ls_all(client, "o0*", 1, type="dict") == [["o02", "dict"], ["o06", "dict"]]
    cursor, page = client.ok("ls", None, 0, 1, {"type": "ns"})
    assert len(page) <= 1
    # "" and nil are every name; long false is the short form
    assert ls_all(client, "") == ls_all(client) == ls_all(client, None, long=False)
    assert len(ls_all(client, "")) == 12


@pytest.mark.parametrize("options", [{"type": "set"}, {"type": 1}, {"type": None}, {"long": 1},
                                     {"long": "yes"}, {"bogus": True}, {1: True}])
def test_ls_bad_options_are_badarg(client, options):
    client.ok("create", "q", "queue")
    assert client.err("ls", None, 0, 0, options) == E.BADARG
    assert client.err("ls", None, 0, 0, "long") == E.BADARG
    assert client.ok("ls", None, 0, 0, {}) == [0, [["q", "queue"]]]


def test_rate_rises_with_a_burst_and_falls_back_to_zero(client):
    def rate():
        return ls_long(client)["r"]["rate"]
    n = 300
    for i in range(n):
        client.send("dict.set", "r", i, i)
    for _ in range(n):
        assert client.recv().status == 0
    # the burst's second is the last whole one within about a second
    assert wait_until(rate, timeout=3.0, what="the rate to show the burst") > 0
    assert client.ok("info")["ops_per_sec"] > 0
    wait_until(lambda: rate() == 0, timeout=4.0, what="the rate to fall back to 0")


# ---- info ------------------------------------------------------------------------

def test_info_tells_socket_config_rates_errors_and_monitors(daemon, client):
    info = client.ok("info")
    for key in ("socket", "config_file", "ops_per_sec", "errors_by_name", "max_clients", "monitors",
                "monitor_events"):
        assert key in info, key
    assert info["socket"] == daemon.sock_path
    assert info["config_file"] is None or isinstance(info["config_file"], str)
    assert info["max_clients"] == 1024
    assert (info["monitors"], info["monitor_events"]) == (0, 0)
    assert isinstance(info["ops_per_sec"], int) and info["ops_per_sec"] >= 0
    assert info["errors_by_name"] == {}
    assert client.err("dict.get", "d", "missing") == E.NOKEY
    assert client.err("dict.get", "d", "missing") == E.NOKEY
    assert client.err("nosuch") == E.BADOP
    info = client.ok("info")
    assert info["errors_by_name"] == {"NOKEY": 2, "BADOP": 1}
    assert info["errors"] == 3


def test_info_config_file_and_max_clients(tmp_path, make_daemon):
    conf = tmp_path / "ipcd.conf"
    conf.write_text("max_clients = 7\n")
    c = make_daemon("--config", str(conf)).connect()
    info = c.ok("info")
    assert (info["config_file"], info["max_clients"]) == (str(conf), 7)


# ---- monitor ---------------------------------------------------------------------

def attach(daemon, name="mon"):
    """A connection that sent monitor and got its [id, 0, true]; returns (conn, id)."""
    mon = daemon.connect(name=name)
    rid = mon.send("monitor")
    r = mon.recv()
    assert (r.id, r.status, r.result) == (rid, 0, True)
    return mon, rid


def event(mon, rid):
    r = mon.recv()
    assert (r.id, r.status) == (rid, 0), r
    return r.result


@pytest.mark.socket_only('the exact events of each connection: shm.open is one more')
def test_monitor_streams_the_requests_of_other_connections(daemon, client):
    mon, rid = attach(daemon)
    t0 = time.time()
    worker = daemon.connect(name="worker")   # its hello is the first event
    ev = event(mon, rid)
    assert set(ev) == {"time", "client", "pid", "op", "name", "size"}, ev
    assert (ev["op"], ev["name"], ev["pid"]) == ("hello", None, os.getpid())
    assert ev["size"] == len(request_bytes(1, "hello", 1, {"name": "worker"}))
    assert t0 - 1 <= ev["time"] <= time.time() + 1

    sent = []
    for args in (("queue.put", "jobs", {"id": 7}), ("ping",), ("dict.incr", "stats", "hits", 5),
                 ("clients",), ("nosuch.op", 1), ("dict.get", "stats")):
        rid_w = worker.send(*args)
        worker.recv()
        sent.append((args, len(request_bytes(rid_w, *args))))
    me = [e for e in all_clients(worker) if e["self"]][0]
    mon_entry = [e for e in all_clients(worker) if e["name"] == "mon"][0]
    assert mon_entry["blocked"]["op"] == "monitor" and mon_entry["blocked"]["name"] is None
    for (args, size) in sent:
        if args[0] == "nosuch.op":
            continue          # no op, no event
        ev = event(mon, rid)
        assert ev["op"] == args[0]
        # dict.get with a missing key is refused (BADARG) but was still a request on "stats"
        assert ev["name"] == (args[1] if "." in args[0] else None)
        assert (ev["client"], ev["pid"], ev["size"]) == (me["id"], os.getpid(), size)
    for _ in range(2):        # the two clients requests just made
        assert event(mon, rid)["op"] == "clients"
    # nothing the monitor sends is run: it stays parked
    mon.send("ping")
    client.ok("ping")
    assert event(mon, rid)["op"] == "ping"
    mon.sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        mon.recv()


@pytest.mark.socket_only('the exact events of each connection: shm.open is one more')
def test_monitor_events_are_built_only_while_a_monitor_is_attached(daemon, client):
    for i in range(50):
        client.ok("queue.put", "q", i)
        client.ok("queue.get", "q", 0)
    info = client.ok("info")
    assert (info["monitors"], info["monitor_events"]) == (0, 0)

    mon, rid = attach(daemon)
    assert client.ok("info")["monitors"] == 1     # its own event is the first
    for i in range(20):
        client.ok("list.append", "l", i)
    info = client.ok("info")
    assert info["monitor_events"] == 22           # info, 20 appends, info
    for _ in range(21):
        event(mon, rid)
    assert event(mon, rid)["op"] == "info"

    # two monitors: one event each per request, neither sees the other's nothing
    mon2, rid2 = attach(daemon, "mon2")
    assert event(mon, rid)["op"] == "hello" and event(mon, rid)["op"] == "monitor"
    client.ok("ping")
    assert event(mon, rid)["op"] == "ping" and event(mon2, rid2)["op"] == "ping"

    mon.close()
    mon2.close()
    wait_until(lambda: client.ok("info")["monitors"] == 0, what="closed monitors to detach")
    before = client.ok("info")["monitor_events"]
    for i in range(20):
        client.ok("ping")
    assert client.ok("info")["monitor_events"] == before


@pytest.mark.socket_only('the exact events of each connection: shm.open is one more')
def test_a_monitor_that_does_not_read_drops_events_and_says_how_many(make_daemon):
    # max_output below monitor_buffer: a monitor is bounded by monitor_buffer
    # only, and never disconnected for max_output.
    d = make_daemon("-o", "monitor_buffer=64K", "-o", "max_output=4K", "-o", "max_frame=2K")
    mon, rid = attach(d)
    worker = d.connect(name="worker")
    n, batch = 30000, 200                               # 200 replies stay under max_output
    for b in range(n // batch):
        for i in range(batch):
            worker.send("ping", i)
        for i in range(batch):
            r = worker.recv()
            assert (r.status, r.result) == (0, i)       # the normal client gets everything
    info = worker.ok("info")
    built, dropped = info["monitor_events"], info["monitor_dropped"]
    assert dropped > 0 and built + dropped == n + 2     # the pings, worker's hello and info
    assert info["monitors"] == 1

    # the monitor reads what was built; then the next event tells the loss
    seen = [event(mon, rid) for _ in range(built)]
    assert all("dropped" not in e for e in seen)
    worker.ok("ping", "after")
    ev = event(mon, rid)
    assert (ev["op"], ev["dropped"]) == ("ping", dropped)
    worker.ok("ping", "again")
    assert "dropped" not in event(mon, rid)


# ---- dump pages --------------------------------------------------------------------

def dump_paged(c, name, count, **kw):
    """The pages of dump NAME with COUNT joined: a list, or a list of (key, value)."""
    out, cursor, pages = [], 0, 0
    while True:
        cursor, page = c.ok("dump", name, cursor, count, **kw)
        pages += 1
        assert len(page) <= (count or 100)
        out += list(page.items()) if isinstance(page, dict) else page
        if cursor == 0:
            return out, pages


def test_dump_pages_of_a_queue_with_priorities_and_packed_items(client):
    for i in range(40):
        client.ok("queue.put", "q", i)                # small items, packed in a run
    # an item given back by nack: at the head of the plain items, as an item of its own
    d = client.ok("queue.get_ack", "q", 0)
    assert d["value"] == 0
    client.ok("queue.nack", "q", d["id"])
    client.ok("queue.put", "q", "B" * 300)            # too big to be packed: bare
    client.ok("queue.put", "q", [1, 2])               # a container: bare
    client.ok("queue.put", "q", "urgent", None, {"priority": -5})
    client.ok("queue.put", "q", "first", None, {"priority": -9})
    client.ok("queue.put", "q", "late", None, {"priority": 3})
    client.ok("queue.put", "q", "later", None, {"priority": 7})
    client.ok("queue.put", "q", "delayed", None, {"delay": 60})
    client.ok("queue.put_many", "q", ["s%d" % i for i in range(2000)])   # several runs
    whole = client.ok("dump", "q")
    assert whole[:4] == ["first", "urgent", 0, 1] and whole[-2:] == ["late", "later"]
    assert len(whole) == 40 + 2 + 4 + 2000 and "delayed" not in whole
    for count in (1, 2, 3, 7, 41, 100, 10000):
        got, pages = dump_paged(client, "q", count)
        assert got == whole, count
        assert pages == max(1, -(-len(whole) // count))
    assert client.ok("dump", "q", len(whole), 5) == [0, []]
    assert client.ok("dump", "q", 10 ** 9, 5) == [0, []]
    assert client.ok("dump", "q", 2, 3) == [5, [0, 1, 2]]


def test_dump_pages_of_a_list(client):
    client.ok("list.extend", "l", list(range(250)) + [{"k": [1]}, None, "x" * 1000])
    whole = client.ok("dump", "l")
    for count in (1, 7, 100, 253, 254):
        assert dump_paged(client, "l", count)[0] == whole
    assert client.ok("dump", "l", 0, 0)[0] == 100     # COUNT 0: the default page
    cursor, page = client.ok("dump", "l", 250, 2)
    assert (cursor, page) == (252, [{"k": [1]}, None])
    assert client.ok("dump", "l", 252, 2) == [0, ["x" * 1000]]


def test_dump_pages_of_a_dict_and_a_namespace(client):
    client.ok("dict.update", "d", {"k%03d" % i: i for i in range(240)})
    client.ok("dict.set", "d", 5, "int key")
    client.ok("dict.set", "d", [1, 2], "array key")
    client.ok("dict.del", "d", "k010")                  # a hole
    client.ok("dict.set", "d", "k010", "moved to the end")
    whole = list(client.ok("dump", "d", use_list=False).items())
    assert len(whole) == 242
    for count in (1, 7, 100, 241, 242, 10000):
        got, pages = dump_paged(client, "d", count, use_list=False)
        assert got == whole, count
        assert pages == max(1, -(-len(whole) // count))
    # the same cursors as dict.items
    assert client.ok("dump", "d", 0, 50, use_list=False) == client.ok("dict.items", "d", 0, 50, use_list=False)

    for i in range(130):
        client.ok("ns.set", "n", "a%d" % i, [i])
    whole = list(client.ok("dump", "n").items())
    assert dump_paged(client, "n", 64)[0] == whole


@pytest.mark.parametrize("t,empty", [("queue", []), ("list", []), ("dict", {}), ("ns", {})])
def test_dump_page_of_an_empty_object(client, t, empty):
    client.ok("create", "o", t)
    assert client.ok("dump", "o", 0, 10) == [0, empty]


def test_dump_paging_arguments(client):
    client.ok("list.append", "l", 1)
    assert client.err("dump", "nope", 0, 10) == E.NOTFOUND
    assert client.err("dump", "l", 0) == E.BADARG          # a cursor needs a count
    assert client.err("dump", "l", -1, 10) == E.BADARG
    assert client.err("dump", "l", 0, "x") == E.BADARG
    assert client.err("dump", "l", 0, 1, 2) == E.BADARG
    assert client.ok("dump", "l") == [1]
