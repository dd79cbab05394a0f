"""JoinableQueue (task_done/join) and acknowledged get, across processes."""
import multiprocessing
import os
import time

import pytest

import ipcd
from test_patterns import join_all


def joinable_worker(q, out):
    while True:
        item = q.get(timeout=30)
        if item is None:
            q.task_done()
            return
        out.incr("sum", item)
        q.task_done()


def test_join_waits_for_task_done_of_every_item(client, name):
    q, out = ipcd.JoinableQueue(name + ".q"), ipcd.Dict(name + ".out")
    procs = [multiprocessing.Process(target=joinable_worker, args=(q, out)) for _ in range(3)]
    for p in procs:
        p.start()
    try:
        q.put_many(range(1000))
        q.join(timeout=30)  # every item done
        assert out["sum"] == sum(range(1000))
        q.put_many([None] * len(procs))
        q.join(timeout=30)
    finally:
        join_all(procs)


def test_task_done_too_many_times_is_valueerror(client, name):
    q = ipcd.Queue(name)
    q.put(1)
    q.get()
    q.task_done()
    with pytest.raises(ValueError):
        q.task_done()


def test_join_timeout(client, name):
    q = ipcd.Queue(name)
    q.put(1)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        q.join(timeout=0.1)
    assert time.monotonic() - t0 < 1


def test_get_ack_ack_and_nack(client, name):
    q = ipcd.Queue(name)
    q.put_many(["a", "b"])
    d = q.get_ack(timeout=1)
    assert d.value == "a" and d.deliveries == 1
    d.nack()  # back at the head
    d2 = q.get_ack(timeout=1)
    assert d2.value == "a" and d2.deliveries == 2
    d2.ack()
    d3 = q.get_ack(timeout=1)
    assert d3.value == "b"
    d3.ack()
    q.join(timeout=1)
    with pytest.raises(ipcd.Empty):
        q.get_ack(block=False)


def pending_count(client, qname):
    return len(client.call("queue.pending", qname))


def test_get_ack_many_takes_up_to_count_each_pending(client, name):
    q = ipcd.Queue(name)
    q.put_many(range(5))
    ds = q.get_ack_many(3, timeout=1)
    assert [d.value for d in ds] == [0, 1, 2]
    assert q.qsize() == 2 and pending_count(client, name) == 3
    assert [d.value for d in q.get_ack_many(10, timeout=1)] == [3, 4]  # stops at what is ready
    with pytest.raises(ipcd.Empty):
        q.get_ack_many(3, block=False)
    with pytest.raises(ValueError):
        q.get_ack_many(0)


def test_prefetch_hands_out_taken_ahead_items_without_a_request(client, name):
    q = ipcd.Queue(name)
    q.put_many(range(5))
    d0 = q.get_ack(timeout=1, prefetch=3)
    assert d0.value == 0
    assert q.qsize() == 2 and pending_count(client, name) == 3  # 1 and 2 taken ahead
    q.put(99)  # the next two come from what was taken ahead, not from the queue's head
    assert [q.get_ack(timeout=1, prefetch=3).value for _ in range(2)] == [1, 2]
    assert q.qsize() == 3
    d3 = q.get_ack(timeout=1, prefetch=3)  # nothing ahead: a new request
    assert d3.value == 3 and q.qsize() == 0
    with pytest.raises(ValueError):
        q.get_ack(prefetch=0)


def prefetch_and_die(q, started):
    d = q.get_ack(timeout=30, prefetch=4)
    started.put(d.value)
    os._exit(1)  # dies holding four deliveries, one handed out, three ahead


def test_prefetched_items_of_a_dead_worker_are_delivered_again(client, name):
    q, started = ipcd.Queue(name), ipcd.Queue(name + ".started")
    q.put_many(range(6))
    p = multiprocessing.Process(target=prefetch_and_die, args=(q, started))
    p.start()
    assert started.get(timeout=30) == 0
    p.join(30)
    deadline = time.monotonic() + 30
    while q.qsize() < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    ds = q.get_ack_many(6, timeout=1)
    assert sorted(d.value for d in ds) == list(range(6))
    assert sorted(d.deliveries for d in ds) == [1, 1, 2, 2, 2, 2]
