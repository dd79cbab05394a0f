"""JoinableQueue (task_done/join) and acknowledged get, across processes."""
import multiprocessing
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
