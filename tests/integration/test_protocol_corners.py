"""The places where PROTOCOL.md could be read two ways, each held to what the
spec now says: handshake ids, op and name shapes, hello's arguments, page
and pattern limits, frame depth, numbers that are not finite, and the
results of ops that hand an item straight to a waiter."""
import pytest

from ipcwire import E, nested, wait_until


def closed_after(c, rid, code):
    r = c.recv()
    assert (r.id, r.status) == (rid, code), r
    assert c.expect_closed(timeout=3)   # well before hello_timeout (10 s)


# ---- handshake ---------------------------------------------------------------

def test_request_before_hello_is_answered_with_id_0(daemon):
    c = daemon.connect(hello=False)
    c.send("ping", rid=7)
    closed_after(c, 0, E.PROTOCOL)


def test_version_reply_carries_the_hello_id_and_closes(daemon):
    c = daemon.connect(hello=False)
    c.send("hello", 99, rid=5)
    closed_after(c, 5, E.VERSION)


def test_hello_name_must_be_a_string(daemon):
    c = daemon.connect(hello=False)
    assert c.err("hello", 1, {"name": 5}) == E.BADARG
    # The connection still waits for a good hello.
    assert c.ok("hello", 1, {"name": "five"})["version"] == 1
    assert any(cl["name"] == "five" for cl in c.ok("clients")[1])


def test_second_hello_with_a_bad_version_keeps_the_connection(daemon):
    c = daemon.connect()
    assert c.err("hello", 99) == E.VERSION
    assert c.ok("ping") == "pong"
    # A second good hello answers as the first did.
    assert c.ok("hello", 1)["version"] == 1


# ---- op and name shapes --------------------------------------------------------

@pytest.mark.parametrize("request_value", [[9], [9, None], [9, 1.5], [9, True], [9, [1]], [9, "no.such"], [9, 9999]])
def test_missing_or_unknown_op_is_badop_and_keeps_the_connection(daemon, request_value):
    c = daemon.connect()
    c.send_value(request_value)
    r = c.recv()
    assert (r.id, r.status) == (9, E.BADOP), r
    assert c.ok("ping") == "pong"


@pytest.mark.parametrize("name", [5, None, b"q", ["q"], {"q": 1}])
def test_name_that_is_not_a_string_is_badname(client, name):
    assert client.err("queue.put", name, "x") == E.BADNAME
    assert client.err("stat", name) == E.BADNAME
    assert client.ok("ping") == "pong"


# ---- limits ----------------------------------------------------------------------

def test_count_over_10000_is_refused(client):
    client.ok("dict.set", "d", "k", 1)
    assert client.err("ls", None, 0, 10001) == E.BADARG
    assert client.err("dict.items", "d", 0, 10001) == E.BADARG
    assert client.ok("ls", None, 0, 10000)[0] == 0
    assert client.ok("dict.items", "d", 0, 10000)[0] == 0


def test_ls_pattern_limit_is_511_bytes(client):
    assert client.ok("ls", "x" * 511)[1] == []
    assert client.err("ls", "x" * 512) == E.BADARG


def test_frame_depth_counts_containers_only(daemon):
    c = daemon.connect()
    # 32 containers: the request array and 31 arrays around a scalar. The
    # frame is fine; the value is deeper than max_depth.
    c.send_value([1, "queue.put", "q", nested(30, 1)])
    r = c.recv()
    assert (r.id, r.status) == (1, E.BADVALUE), r
    # So are 32 containers with an empty one innermost.
    c.send_value([2, "queue.put", "q", nested(31)])
    r = c.recv()
    assert (r.id, r.status) == (2, E.BADVALUE), r
    # 33 containers are not one well-formed frame.
    c.send_value([3, "queue.put", "q", nested(32)])
    closed_after(c, 0, E.PROTOCOL)


# ---- numbers -------------------------------------------------------------------

def test_dict_incr_never_stores_a_non_finite_float(client):
    client.ok("dict.set", "d", "big", 1.7e308)
    assert client.err("dict.incr", "d", "big", 1.7e308) == E.OVERFLOW
    assert client.ok("dict.get", "d", "big") == 1.7e308


def test_dict_cas_refuses_a_too_deep_new_value_even_when_compare_fails(client):
    client.ok("dict.set", "d", "k", 1)
    assert client.err("dict.cas", "d", "k", 2, nested(30, 1)) == E.BADVALUE
    assert client.err("dict.cas", "d", "k", 1, nested(30, 1)) == E.BADVALUE
    assert client.ok("dict.get", "d", "k") == 1


# ---- results -----------------------------------------------------------------------

def test_kill_client_by_pid_with_no_connections_closes_none(client):
    assert client.ok("kill_client", 2**31 - 1, "pid") == 0
    assert client.err("kill_client", 999999, "id") == E.NOTFOUND


def test_adding_ops_count_what_a_waiter_took_as_documented(daemon):
    # queue.put reports the size after waiting getters were served; list
    # append reports the length before waiting blpops took their items.
    getter, popper, writer = daemon.connect(), daemon.connect(), daemon.connect()
    gid = getter.send("queue.get", "q", 10)
    pid = popper.send("list.blpop", "l", 10)
    wait_until(lambda: writer.ok("stat", "q")["waiting"] == 1 and writer.ok("stat", "l")["waiting"] == 1,
               what="getter and popper parked")
    assert writer.ok("queue.put", "q", "x") == 0
    assert writer.ok("list.append", "l", "y") == 1
    r = getter.recv()
    assert (r.id, r.status, r.result) == (gid, 0, "x")
    r = popper.recv()
    assert (r.id, r.status, r.result) == (pid, 0, "y")


def test_stat_options_are_those_in_force(client):
    client.ok("create", "q", "queue", {"lease": 2})
    assert client.ok("stat", "q")["options"] == {"maxsize": 0, "lease": 2}
    client.ok("create", "q2", "queue", {"maxsize": 5})
    assert client.ok("stat", "q2")["options"] == {"maxsize": 5}
    client.ok("dict.set", "d", "k", 1)
    assert client.ok("stat", "d")["options"] == {}


# ---- durations -------------------------------------------------------------------

INF = float("inf")


@pytest.mark.parametrize("bad", [INF, 1e10, 1000000001, float("nan"), -1])
def test_delays_and_leases_are_finite_and_bounded(client, bad):
    assert client.err("queue.put", "q", "x", None, {"delay": bad}) == E.BADARG
    assert client.err("create", "q2", "queue", {"lease": bad}) == E.BADARG
    client.ok("queue.put", "q", "x")
    assert client.err("queue.get_ack", "q", 0, bad) == E.BADARG
    d = client.ok("queue.get_ack", "q", 0)
    assert client.err("queue.touch", "q", d["id"], bad) == E.BADARG
    assert client.err("queue.nack", "q", d["id"], bad) == E.BADARG
    client.ok("queue.ack", "q", d["id"])


def test_longest_delay_and_lease_are_accepted(client):
    assert client.ok("queue.put", "q", "x", None, {"delay": 1000000000}) == 1
    assert client.ok("create", "q2", "queue", {"lease": 1000000000}) is True
    client.ok("queue.put", "q2", "y")
    d = client.ok("queue.get_ack", "q2", 0, 1000000000)
    assert 999999990 < client.ok("queue.touch", "q2", d["id"]) <= 1000000000


def test_timeout_of_infinity_waits_like_nil(daemon):
    getter, writer = daemon.connect(), daemon.connect()
    gid = getter.send("queue.get", "q", INF)
    wait_until(lambda: writer.ok("stat", "q")["waiting"] == 1, what="getter parked")
    writer.ok("queue.put", "q", "x")
    r = getter.recv()
    assert (r.id, r.status, r.result) == (gid, 0, "x")
