"""Queues that lose nothing: acknowledged gets (ack, nack with a delay,
leases and touch, redelivery when the consumer disconnects, explicit leases
that outlive it), dead letters after max_deliveries, JoinableQueue's
task_done/join, priorities and delays, the queue's stat counters, and every
new op's errors."""
import time

import pytest

from ipcwire import E, wait_until
from ipcd_testlib import NOT_LATE



def stat(c, name):
    return c.ok("stat", name)


def park(observer, conn, op, name, *args, key="waiting"):
    """Send a request from conn that must wait, and make sure it is parked
    before going on."""
    before = stat(observer, name)[key] if observer.ok("exists", name) else 0
    rid = conn.send(op, name, *args)
    wait_until(lambda: observer.ok("exists", name) and stat(observer, name)[key] == before + 1,
               what="%s on %s to park" % (op, name))
    return rid


def wait_ready(c, name, n, timeout=5.0):
    wait_until(lambda: stat(c, name)["ready"] == n, timeout=timeout, what="%d ready in %s" % (n, name))


# ---- acknowledged get -------------------------------------------------------------

def test_get_ack_returns_id_value_deliveries_and_hides_the_item(client, client2):
    client.ok("queue.put_many", "q", ["a", "b"])
    d = client.ok("queue.get_ack", "q", 0)
    assert d == {"id": d["id"], "value": "a", "deliveries": 1} and d["id"] >= 1
    assert client2.ok("queue.get", "q", 0) == "b"               # "a" is invisible while pending
    assert client2.err("queue.get_ack", "q", 0) == E.EMPTY
    st = stat(client, "q")
    assert (st["ready"], st["pending"], st["size"]) == (0, 1, 0)
    assert client.ok("queue.pending", "q")[0]["id"] == d["id"]
    assert client2.ok("queue.ack", "q", d["id"]) is None        # any connection may ack by id
    assert client.ok("queue.pending", "q") == []
    assert client.err("queue.ack", "q", d["id"]) == E.NOTPENDING
    st = stat(client, "q")
    assert (st["pending"], st["acked"], st["got"], st["put"]) == (0, 1, 2, 2)


def test_nack_puts_back_at_the_head_with_the_count_increased(client):
    client.ok("queue.put_many", "q", ["a", "b", "c"])
    d = client.ok("queue.get_ack", "q", 0)
    assert client.ok("queue.nack", "q", d["id"]) is None
    d2 = client.ok("queue.get_ack", "q", 0)
    assert (d2["value"], d2["deliveries"]) == ("a", 2) and d2["id"] != d["id"]
    assert client.err("queue.ack", "q", d["id"]) == E.NOTPENDING   # the old id is gone
    client.ok("queue.ack", "q", d2["id"])
    assert client.ok("dump", "q") == ["b", "c"]
    st = stat(client, "q")
    assert (st["nacked"], st["redelivered"], st["acked"]) == (1, 1, 1)


def test_disconnect_returns_held_items_to_the_head_in_order(daemon, client):
    client.ok("queue.put_many", "q", [1, 2, 3, 4])
    worker = daemon.connect()
    got = [worker.ok("queue.get_ack", "q", 0) for _ in range(3)]
    assert [g["value"] for g in got] == [1, 2, 3]
    worker.ok("queue.ack", "q", got[1]["id"])
    worker.close()
    wait_until(lambda: stat(client, "q")["pending"] == 0, what="deliveries back")
    assert client.ok("dump", "q") == [1, 3, 4]
    d = client.ok("queue.get_ack", "q", 0)
    assert (d["value"], d["deliveries"]) == (1, 2)
    d = client.ok("queue.get_ack", "q", 0)
    assert (d["value"], d["deliveries"]) == (3, 2)
    d = client.ok("queue.get_ack", "q", 0)
    assert (d["value"], d["deliveries"]) == (4, 1)


def test_disconnect_hands_the_item_to_a_waiting_getter(daemon, client):
    client.ok("queue.put", "q", "job")
    worker = daemon.connect()
    d = worker.ok("queue.get_ack", "q", 0)
    waiter = daemon.connect()
    park(client, waiter, "queue.get_ack", "q", 5)
    worker.close()
    r = waiter.recv()
    assert r.status == 0 and (r.result["value"], r.result["deliveries"]) == ("job", 2)
    assert r.result["id"] != d["id"]


def test_explicit_lease_outlives_the_consumer_and_another_process_acks(daemon, client):
    client.ok("queue.put", "q", "job")
    worker = daemon.connect()
    d = worker.ok("queue.get_ack", "q", 0, 30)
    worker.close()
    wait_until(lambda: client.ok("queue.pending", "q")[0]["connected"] is False, what="consumer gone")
    p = client.ok("queue.pending", "q")
    assert len(p) == 1 and p[0]["id"] == d["id"] and p[0]["deliveries"] == 1
    assert 25 < p[0]["lease"] <= 30
    assert stat(client, "q")["ready"] == 0
    client.ok("queue.ack", "q", d["id"])
    assert client.ok("queue.pending", "q") == []
    assert client.ok("queue.join", "q", 0) is None


def test_lease_that_runs_out_returns_the_item(client):
    client.ok("queue.put", "q", "job")
    t0 = time.monotonic()
    d = client.ok("queue.get_ack", "q", 0, 0.3)
    assert client.ok("queue.get_ack", "q", 2)["value"] == "job"   # waits for the lease to end
    took = time.monotonic() - t0
    assert 0.3 <= took <= 0.3 + NOT_LATE, took
    assert client.err("queue.ack", "q", d["id"]) == E.NOTPENDING


def test_queue_default_lease(client):
    client.ok("create", "q", "queue", {"lease": 0.2})
    client.ok("queue.put", "q", "job")
    t0 = time.monotonic()
    client.ok("queue.get_ack", "q", 0)
    d = client.ok("queue.get_ack", "q", 2)
    assert 0.2 <= time.monotonic() - t0 <= 0.2 + NOT_LATE
    assert d["deliveries"] == 2


def test_touch_keeps_the_lease(client, client2):
    client.ok("queue.put", "q", "job")
    # Each round (a touch, a 0.1 s get) must end inside the 1 s lease, even
    # on a loaded machine under sanitizers.
    d = client.ok("queue.get_ack", "q", 0, 1.0)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        assert client.ok("queue.touch", "q", d["id"]) == 1.0
        assert client2.err("queue.get_ack", "q", 0.1) == E.TIMEOUT
    t0 = time.monotonic()                                            # before the lease restarts
    assert client.ok("queue.touch", "q", d["id"], 0.2) == 0.2        # a new length
    assert client2.ok("queue.get_ack", "q", 2)["deliveries"] == 2
    assert 0.2 <= time.monotonic() - t0 <= 0.2 + NOT_LATE


def test_touch_without_a_lease_is_nil(client):
    client.ok("queue.put", "q", "job")
    d = client.ok("queue.get_ack", "q", 0)
    assert client.ok("queue.touch", "q", d["id"]) is None
    assert client.ok("queue.pending", "q")[0]["lease"] is None
    assert client.ok("queue.touch", "q", d["id"], 5) == 5
    assert 4 < client.ok("queue.pending", "q")[0]["lease"] <= 5


def test_nack_with_a_delay_hides_the_item_that_long(client):
    client.ok("queue.put_many", "q", ["a", "b"])
    d = client.ok("queue.get_ack", "q", 0)
    t0 = time.monotonic()
    client.ok("queue.nack", "q", d["id"], 0.3)
    assert stat(client, "q")["delayed"] == 1
    assert client.ok("queue.get", "q", 0) == "b"
    assert client.ok("queue.get", "q", 2) == "a"
    assert 0.3 <= time.monotonic() - t0 <= 0.3 + NOT_LATE


def test_nack_with_a_delay_returns_to_the_head(client):
    client.ok("queue.put", "q", "a")
    d = client.ok("queue.get_ack", "q", 0)
    client.ok("queue.nack", "q", d["id"], 0.1)
    client.ok("queue.put_many", "q", ["b", "c"])
    wait_until(lambda: stat(client, "q")["delayed"] == 0, what="the delay to end")
    assert client.ok("dump", "q") == ["a", "b", "c"]


# ---- dead letters -----------------------------------------------------------------

def test_poison_message_reaches_the_dead_letter_queue_after_exactly_3_deliveries(client):
    client.ok("create", "jobs", "queue", {"max_deliveries": 3})
    client.ok("queue.put_many", "jobs", ["poison", "fine"])
    seen = []
    for _ in range(3):
        d = client.ok("queue.get_ack", "jobs", 0)
        assert d["value"] == "poison"
        seen.append(d["deliveries"])
        client.ok("queue.nack", "jobs", d["id"])
    assert seen == [1, 2, 3]
    assert client.ok("queue.get_ack", "jobs", 0)["value"] == "fine"
    assert client.ok("queue.get", "jobs.dead", 0) == "poison"
    st = stat(client, "jobs")
    assert (st["dead_lettered"], st["redelivered"], st["unfinished"]) == (1, 2, 1)


def test_dead_letter_names_stay_within_max_name(make_daemon):
    """NAME.dead must be a name clients can reach: a queue whose default
    dead-letter name would pass max_name is refused unless it names one, and
    a long name works as long as max_name allows it."""
    d = make_daemon("-o", "max_name=600")
    c = d.connect()
    long_name = "j" * 595                      # "j...j.dead" is 600 bytes: fits
    c.ok("create", long_name, "queue", {"max_deliveries": 1})
    c.ok("queue.put", long_name, "poison")
    c.ok("queue.nack", long_name, c.ok("queue.get_ack", long_name, 0)["id"])
    assert c.ok("queue.get", long_name + ".dead", 0) == "poison"

    too_long = "k" * 596                       # its NAME.dead would be 601 bytes
    assert c.err("create", too_long, "queue", {"max_deliveries": 1}) == E.BADARG
    assert c.ok("create", too_long, "queue", {"max_deliveries": 1, "dead_letter": "graves"}) is True
    assert c.err("create", "x", "queue", {"max_deliveries": 1, "dead_letter": "g" * 601}) == E.BADARG


def test_dead_letter_by_lease_end_and_disconnect_into_a_named_queue(daemon, client):
    client.ok("create", "jobs", "queue", {"max_deliveries": 2, "dead_letter": "graveyard"})
    client.ok("queue.put", "jobs", "poison")
    client.ok("queue.get_ack", "jobs", 0, 0.05)                   # lease ends: delivery 1
    w = daemon.connect()
    d = w.ok("queue.get_ack", "jobs", 2)                          # delivery 2
    assert d["deliveries"] == 2
    w.close()                                                     # dies: no third delivery
    wait_until(lambda: client.ok("queue.qsize", "graveyard") == 1, what="dead letter")
    assert client.ok("queue.qsize", "jobs") == 0
    assert client.ok("queue.join", "jobs", 0) is None             # a dead letter is done here


def test_dead_letter_that_is_no_queue_is_refused_at_create(client):
    client.ok("list.append", "a-list", 1)
    client.ok("dict.set", "a-dict", "k", 1)
    for target in ("a-list", "a-dict"):
        assert client.err("create", "jobs", "queue", {"max_deliveries": 1, "dead_letter": target}) == E.WRONGTYPE
    assert client.err("create", "jobs", "queue", {"max_deliveries": 1, "dead_letter": "jobs"}) == E.BADARG
    client.ok("ns.set", "work.dead", "a", 1)                   # the default NAME.dead holds an ns
    assert client.err("create", "work", "queue", {"max_deliveries": 1}) == E.WRONGTYPE
    assert client.ok("exists", "jobs") is False and client.ok("exists", "work") is False
    assert client.ok("create", "jobs", "queue", {"max_deliveries": 1, "dead_letter": "graves"}) is True


def test_dead_letter_target_that_became_unusable_keeps_the_item(client):
    client.ok("create", "jobs", "queue", {"max_deliveries": 1, "dead_letter": "graves"})
    client.ok("list.append", "graves", "not a queue")          # made after the queue: allowed then
    client.ok("queue.put", "jobs", "poison")
    d = client.ok("queue.get_ack", "jobs", 0)
    client.ok("queue.nack", "jobs", d["id"])
    # Acknowledged as stored, so it is never dropped: it stays, counted.
    assert client.ok("queue.qsize", "jobs") == 1
    st = stat(client, "jobs")
    assert (st["dead_lettered"], st["dead_letter_failed"], st["unfinished"]) == (0, 1, 1)
    d = client.ok("queue.get_ack", "jobs", 0)
    assert (d["value"], d["deliveries"]) == ("poison", 2)      # past max_deliveries: marked
    # Once the target is a queue again, the next return moves it there.
    client.ok("delete", "graves")
    client.ok("queue.nack", "jobs", d["id"])
    assert client.ok("queue.get", "graves", 0) == "poison"
    st = stat(client, "jobs")
    assert (st["size"], st["dead_lettered"], st["dead_letter_failed"]) == (0, 1, 1)


def test_returned_items_may_pass_maxsize_and_puts_wait_until_under_it(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 1})
    client.ok("queue.put", "q", "a")
    d = client.ok("queue.get_ack", "q", 0)
    client.ok("queue.put", "q", "b")
    client.ok("queue.nack", "q", d["id"])              # comes back although the queue is full
    assert client.ok("queue.qsize", "q") == 2
    st = stat(client, "q")
    assert (st["size"], st["over_maxsize"]) == (2, 1)
    assert client.err("queue.put", "q", "c", 0) == E.FULL
    p = daemon.connect(name="putter")
    park(client, p, "queue.put", "q", "c", 10, key="putters")
    assert client.ok("queue.get", "q", 0) == "a"        # qsize 1: still full, the put waits
    assert stat(client, "q")["putters"] == 1
    assert client.ok("queue.get", "q", 0) == "b"        # under maxsize: the put goes in
    assert p.recv().result == 1
    st = stat(client, "q")
    assert (st["size"], st["over_maxsize"], st["putters"]) == (1, 0, 0)


def test_lease_ends_disconnects_and_dead_letters_may_pass_maxsize_too(daemon, client):
    # A lease that ends
    client.ok("create", "leased", "queue", {"maxsize": 1})
    client.ok("queue.put", "leased", "a")
    client.ok("queue.get_ack", "leased", 0, 0.05)
    client.ok("queue.put", "leased", "b")
    wait_until(lambda: stat(client, "leased")["size"] == 2, what="the lease to end")
    assert stat(client, "leased")["over_maxsize"] == 1
    assert client.err("queue.put", "leased", "c", 0) == E.FULL
    # A consumer that goes
    client.ok("create", "held", "queue", {"maxsize": 1})
    consumer = daemon.connect(name="consumer")
    client.ok("queue.put", "held", "a")
    consumer.ok("queue.get_ack", "held", 0)
    client.ok("queue.put", "held", "b")
    consumer.close()
    wait_until(lambda: stat(client, "held")["size"] == 2, what="the delivery to come back")
    assert stat(client, "held")["over_maxsize"] == 1
    # A dead letter into a full bounded queue: stored there, counted, not dropped
    client.ok("create", "graves", "queue", {"maxsize": 1})
    client.ok("queue.put", "graves", "occupant")
    client.ok("create", "jobs", "queue", {"max_deliveries": 1, "dead_letter": "graves"})
    client.ok("queue.put", "jobs", "poison")
    client.ok("queue.nack", "jobs", client.ok("queue.get_ack", "jobs", 0)["id"])
    st = stat(client, "graves")
    assert (st["size"], st["over_maxsize"]) == (2, 1)
    assert stat(client, "jobs")["dead_lettered"] == 1
    assert [client.ok("queue.get", "graves", 0) for _ in range(2)] == ["occupant", "poison"]
    assert stat(client, "graves")["over_maxsize"] == 0


# ---- task_done / join -----------------------------------------------------------

def test_join_on_a_queue_with_nothing_unfinished_returns_at_once(client):
    assert client.ok("queue.join", "q", 0) is None
    assert client.ok("queue.join", "q") is None
    assert client.ok("queue.join", "missing", 0) is None


def test_join_waits_for_the_last_task_done_and_all_joiners_wake(daemon, client):
    client.ok("queue.put_many", "q", [1, 2])
    joiners = [daemon.connect() for _ in range(3)]
    for j in joiners:
        park(client, j, "queue.join", "q", 10, key="joiners")
    assert client.ok("queue.get", "q") == 1
    assert client.ok("queue.task_done", "q") == 1
    assert stat(client, "q")["joiners"] == 3
    d = client.ok("queue.get_ack", "q", 0)
    client.ok("queue.ack", "q", d["id"])                          # ack is task_done
    for j in joiners:
        r = j.recv()
        assert (r.status, r.result) == (0, None)
    assert stat(client, "q")["joiners"] == 0


def test_join_honours_its_timeout(client):
    client.ok("queue.put", "q", 1)
    t0 = time.monotonic()
    assert client.err("queue.join", "q", 0.2) == E.TIMEOUT
    assert 0.2 <= time.monotonic() - t0 <= 0.2 + NOT_LATE
    assert client.err("queue.join", "q", 0) == E.TIMEOUT


def test_task_done_too_many_times_is_notask(client):
    assert client.err("queue.task_done", "q") == E.NOTASK
    client.ok("queue.put_many", "q", [1, 2, 3])
    assert client.err("queue.task_done", "q", 4) == E.NOTASK
    assert client.ok("queue.task_done", "q", 2) == 1
    assert client.ok("queue.task_done", "q") == 0
    assert client.err("queue.task_done", "q") == E.NOTASK
    assert client.ok("queue.task_done", "q", 0) == 0


def test_clear_finishes_the_cleared_tasks(daemon, client):
    client.ok("queue.put_many", "q", [1, 2, 3])
    j = daemon.connect()
    park(client, j, "queue.join", "q", 10, key="joiners")
    assert client.ok("queue.clear", "q") == 3
    assert j.recv().status == 0


def test_delete_wakes_joiners_with_deleted(daemon, client):
    client.ok("queue.put", "q", 1)
    j = daemon.connect()
    park(client, j, "queue.join", "q", key="joiners")
    client.ok("delete", "q")
    assert j.recv().status == E.DELETED


def test_delete_with_pending_deliveries(daemon, client):
    client.ok("queue.put_many", "q", [1, 2])
    w = daemon.connect()
    d = w.ok("queue.get_ack", "q", 0, 0.1)
    w.ok("queue.get_ack", "q", 0)
    client.ok("delete", "q")
    assert w.err("queue.ack", "q", d["id"]) == E.NOTPENDING
    w.close()                     # holds nothing any more: nothing to return
    client.ok("queue.put", "q", 3)
    assert client.ok("dump", "q") == [3]


# ---- priorities and delays ---------------------------------------------------------

def test_a_later_item_of_higher_priority_is_got_first_and_equal_stays_fifo(client):
    client.ok("queue.put", "q", "p5-a", None, {"priority": 5})
    client.ok("queue.put", "q", "plain-a")
    client.ok("queue.put", "q", "p5-b", None, {"priority": 5})
    client.ok("queue.put", "q", "p-1-a", None, {"priority": -1})
    client.ok("queue.put", "q", "p0", None, {"priority": 0})
    client.ok("queue.put_many", "q", ["p-1-b", "p-1-c"], None, {"priority": -1})
    client.ok("queue.put", "q", "p1", None, {"priority": 1})
    order = ["p-1-a", "p-1-b", "p-1-c", "plain-a", "p0", "p1", "p5-a", "p5-b"]
    assert client.ok("dump", "q") == order
    assert client.ok("queue.qsize", "q") == len(order)
    assert [client.ok("queue.get", "q", 0) for _ in order] == order


def test_priority_item_returns_to_the_head_of_its_priority(client):
    client.ok("queue.put_many", "q", ["a", "b"], None, {"priority": 3})
    d = client.ok("queue.get_ack", "q", 0)
    client.ok("queue.put", "q", "c", None, {"priority": 3})
    client.ok("queue.nack", "q", d["id"])
    assert client.ok("dump", "q") == ["a", "b", "c"]


def test_delayed_items_appear_on_time_in_order(client):
    t0 = time.monotonic()
    client.ok("queue.put", "q", "late", None, {"delay": 0.4})
    client.ok("queue.put", "q", "early", None, {"delay": 0.2})
    client.ok("queue.put", "q", "early2", None, {"delay": 0.2})
    client.ok("queue.put", "q", "now")
    assert client.ok("queue.qsize", "q") == 4
    st = stat(client, "q")
    assert (st["ready"], st["delayed"]) == (1, 3)
    assert client.ok("queue.get", "q", 0) == "now"
    assert client.err("queue.get", "q", 0) == E.EMPTY
    for v, at in (("early", 0.2), ("early2", 0.2), ("late", 0.4)):
        assert client.ok("queue.get", "q", 2) == v
        assert at <= time.monotonic() - t0 <= at + NOT_LATE, v


def test_delayed_item_with_a_priority(client):
    client.ok("queue.put", "q", "plain")
    client.ok("queue.put", "q", "urgent", None, {"delay": 0.1, "priority": -5})
    wait_until(lambda: stat(client, "q")["delayed"] == 0, what="the delay to end")
    assert client.ok("queue.get", "q", 0) == "urgent"


def test_maxsize_counts_delayed_items(client):
    client.ok("create", "q", "queue", {"maxsize": 2})
    client.ok("queue.put", "q", 1, None, {"delay": 10})
    client.ok("queue.put", "q", 2)
    assert client.err("queue.put", "q", 3, 0) == E.FULL


# ---- stat -------------------------------------------------------------------------

def test_stat_reports_the_delivery_counters(daemon, client):
    client.ok("queue.put_many", "q", [1, 2, 3])
    client.ok("queue.put", "q", 4, None, {"delay": 30})
    d1 = client.ok("queue.get_ack", "q", 0)
    d2 = client.ok("queue.get_ack", "q", 0)
    client.ok("queue.ack", "q", d1["id"])
    client.ok("queue.nack", "q", d2["id"])
    g = daemon.connect()
    client.ok("queue.get", "q")
    client.ok("queue.get", "q")
    park(client, g, "queue.get", "q", key="getters")
    st = stat(client, "q")
    want = {"ready": 0, "pending": 0, "delayed": 1, "unfinished": 3, "put": 4, "got": 4,
            "acked": 1, "nacked": 1, "redelivered": 1, "dead_lettered": 0, "getters": 1,
            "putters": 0, "joiners": 0, "size": 1, "waiting": 1}
    assert {k: st[k] for k in want} == want
    assert st["oldest_age"] == 0.0


def test_oldest_age(client):
    client.ok("queue.put", "q", 1)
    t0 = time.monotonic()
    wait_until(lambda: stat(client, "q")["oldest_age"] >= 0.1, what="age")
    assert stat(client, "q")["oldest_age"] <= time.monotonic() - t0 + NOT_LATE


def test_create_options_round_trip(client):
    opts = {"maxsize": 0, "lease": 1.5, "max_deliveries": 4, "dead_letter": "dlq"}
    assert client.ok("create", "q", "queue", opts) is True
    assert client.ok("create", "q", "queue", opts) is False
    assert client.ok("stat", "q")["options"] == opts
    assert client.err("create", "q", "queue", {"lease": 2}) == E.EXISTS
    client.ok("create", "q2", "queue", {"lease": 3})
    assert client.ok("stat", "q2")["options"] == {"maxsize": 0, "lease": 3}


# ---- errors of the new ops ----------------------------------------------------------

@pytest.mark.parametrize("opts", [
    {"lease": -1}, {"lease": "x"}, {"max_deliveries": -1}, {"max_deliveries": 1.5},
    {"dead_letter": ""}, {"dead_letter": 5}, {"visibility": 1},
])
def test_bad_create_options(client, opts):
    assert client.err("create", "q", "queue", opts) == E.BADARG


@pytest.mark.parametrize("opts", [
    {"priority": 1.5}, {"priority": "high"}, {"delay": -1}, {"delay": None}, {"later": 1},
])
def test_bad_put_options(client, opts):
    assert client.err("queue.put", "q", 1, None, opts) == E.BADARG
    assert client.err("queue.put_many", "q", [1], None, opts) == E.BADARG
    assert client.ok("queue.qsize", "q") == 0


@pytest.mark.parametrize("op,args,code", [
    ("queue.get_ack", ("q", 0, 0), E.BADARG),          # a lease must be > 0
    ("queue.get_ack", ("q", 0, -1), E.BADARG),
    ("queue.get_ack", ("q", 0, "x"), E.BADARG),
    ("queue.get_ack", ("q", 0), E.EMPTY),
    ("queue.get_ack", ("q", 0.05), E.TIMEOUT),
    ("queue.ack", ("q", 1), E.NOTPENDING),
    ("queue.ack", ("q", -1), E.BADARG),
    ("queue.ack", ("q",), E.BADARG),
    ("queue.nack", ("q", 1), E.NOTPENDING),
    ("queue.nack", ("q", 1, -0.5), E.BADARG),
    ("queue.touch", ("q", 1), E.NOTPENDING),
    ("queue.touch", ("q", 1, 0), E.BADARG),
    ("queue.task_done", ("q",), E.NOTASK),
    ("queue.task_done", ("q", -1), E.BADARG),
    ("queue.join", ("q", -1), E.BADARG),
    ("queue.pending", ("q", 1), E.BADARG),
])
def test_errors_of_the_new_ops(client, op, args, code):
    assert client.err(op, *args) == code


@pytest.mark.parametrize("op,args", [
    ("queue.get_ack", (0,)), ("queue.ack", (1,)), ("queue.nack", (1,)), ("queue.touch", (1,)),
    ("queue.pending", ()), ("queue.task_done", ()), ("queue.join", (0,)),
])
def test_new_ops_on_another_type_are_wrongtype(client, op, args):
    client.ok("list.append", "l", 1)
    assert client.err(op, "l", *args) == E.WRONGTYPE


def test_pending_of_a_missing_queue_is_empty(client):
    assert client.ok("queue.pending", "nothing") == []
    assert client.ok("exists", "nothing") is False


def test_waiting_putter_keeps_its_priority(daemon, client):
    client.ok("create", "q", "queue", {"maxsize": 2})
    client.ok("queue.put_many", "q", ["a", "b"])
    p = daemon.connect()
    park(client, p, "queue.put", "q", "urgent", None, {"priority": -1}, key="putters")
    assert client.ok("queue.get", "q") == "a"
    assert p.recv().status == 0
    assert client.ok("dump", "q") == ["urgent", "b"]


def test_a_pending_deliverys_task_is_finished_by_its_ack_not_by_task_done(client):
    client.ok("queue.put", "tq", "job")
    d = client.ok("queue.get_ack", "tq", 0)
    assert client.err("queue.task_done", "tq") == E.NOTASK     # the ack will finish it
    client.ok("queue.ack", "tq", d["id"])
    assert client.ok("stat", "tq")["unfinished"] == 0
    assert client.err("queue.task_done", "tq") == E.NOTASK
    client.ok("queue.put_many", "tq", ["a", "b"])
    d = client.ok("queue.get_ack", "tq", 0)
    assert client.ok("queue.get", "tq", 0) == "b"
    assert client.ok("queue.task_done", "tq") == 1           # b's; a's is pending
    client.ok("queue.ack", "tq", d["id"])
    assert client.ok("stat", "tq")["unfinished"] == 0


def test_get_ack_many_takes_a_prefetch_each_pending_on_its_own(daemon, client):
    client.ok("queue.put_many", "jobs", list(range(10)))
    got = client.ok("queue.get_ack_many", "jobs", 4, 0)
    assert [d["value"] for d in got] == [0, 1, 2, 3] and all(d["deliveries"] == 1 for d in got)
    assert len({d["id"] for d in got}) == 4
    assert client.ok("queue.qsize", "jobs") == 6 and len(client.ok("queue.pending", "jobs")) == 4
    client.ok("queue.ack", "jobs", got[1]["id"])
    client.ok("queue.nack", "jobs", got[0]["id"])
    rest = client.ok("queue.get_ack_many", "jobs", 100, 0)
    assert [d["value"] for d in rest] == [0] + list(range(4, 10)) and rest[0]["deliveries"] == 2
    # a consumer that goes returns what it took ahead, oldest first
    other = daemon.connect()
    client.ok("queue.put_many", "more", ["a", "b", "c"])
    assert [d["value"] for d in other.ok("queue.get_ack_many", "more", 3, 0)] == ["a", "b", "c"]
    other.close()
    wait_until(lambda: client.ok("queue.qsize", "more") == 3, what="the deliveries to come back")
    assert client.ok("queue.get_many", "more", 3) == ["a", "b", "c"]
    # waits while nothing is ready; a put wakes it
    waiter = daemon.connect()
    rid = waiter.send("queue.get_ack_many", "empty", 5, 10)
    wait_until(lambda: client.ok("stat", "empty")["waiting"] == 1, what="the get to park")
    client.ok("queue.put", "empty", "x")
    r = waiter.recv()
    assert r.id == rid and r.status == 0 and [d["value"] for d in r.result] == ["x"]
    assert client.call("queue.get_ack_many", "jobs", 0, 0).status == E.BADARG
    assert client.call("queue.get_ack_many", "jobs", 3, 0, -1).status == E.BADARG
    assert client.call("queue.get_ack_many", "jobs", 3, 0).status == E.EMPTY


def test_get_ack_many_stops_short_of_max_output(make_daemon):
    d = make_daemon("-o", "max_frame=64K", "-o", "max_output=65K")
    c = d.connect()
    for i in range(6):
        c.ok("queue.put", "q", "%d" % i * 20000)
    first = c.ok("queue.get_ack_many", "q", 6, 0)
    assert len(first) == 3
    second = c.ok("queue.get_ack_many", "q", 6, 0)
    assert [x["value"][0] for x in first + second] == list("012345")
