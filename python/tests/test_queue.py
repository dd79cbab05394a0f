"""ipcd.Queue against queue.Queue: randomised sequences, timeouts, bounds."""
import queue
import time

import pytest

import ipcd
from compare import VALUES, rng, same
from ipcd_testlib import NOT_LATE



def _ref_put_many(ref, items):
    if ref.maxsize > 0 and ref.qsize() + len(items) > ref.maxsize:
        raise queue.Full
    for x in items:
        ref.put_nowait(x)


def _ref_get_many(ref, n):
    out = [ref.get_nowait()]  # Empty when empty
    while len(out) < n and not ref.empty():
        out.append(ref.get_nowait())
    return out


@pytest.mark.parametrize("seed,maxsize", [(1, 0), (2, 5), (3, 1), (4, 12)])
def test_random_against_queue_Queue(client, name, seed, maxsize):
    r = rng(seed)
    q, ref = ipcd.Queue(name, maxsize), queue.Queue(maxsize)
    for step in range(300):
        op = r.randrange(11)
        v = r.choice(VALUES)
        if op <= 1:
            same((step, "put_nowait"), lambda: q.put_nowait(v), lambda: ref.put_nowait(v))
        elif op == 2:
            same((step, "put0"), lambda: q.put(v, timeout=0), lambda: ref.put(v, timeout=0))
        elif op == 3:
            same((step, "put nb"), lambda: q.put(v, False), lambda: ref.put(v, False))
        elif op <= 5:
            same((step, "get_nowait"), q.get_nowait, ref.get_nowait)
        elif op == 6:
            same((step, "get nb"), lambda: q.get(block=False), lambda: ref.get(block=False))
        elif op == 7:
            items = [r.choice(VALUES) for _ in range(r.randrange(1, 4))]
            same((step, "put_many"), lambda: q.put_many(items, False),
                 lambda: _ref_put_many(ref, items))
        elif op == 8:
            n = r.randrange(1, 5)
            same((step, "get_many"), lambda: q.get_many(n, block=False),
                 lambda: _ref_get_many(ref, n))
        elif op == 9:
            same((step, "qsize"), q.qsize, ref.qsize)
            same((step, "empty"), q.empty, ref.empty)
        else:
            same((step, "full"), q.full, ref.full)
    assert client.call("dump", name) == list(ref.queue)
    assert q.maxsize == maxsize


def test_get_timeout_raises_empty_on_time(client, name):
    q = ipcd.Queue(name)
    t0 = time.monotonic()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.2)
    took = time.monotonic() - t0
    assert 0.2 <= took <= 0.2 + NOT_LATE, took


def test_put_on_full_queue_with_timeout_raises_full(client, name):
    q = ipcd.Queue(name, maxsize=2)
    q.put(1)
    q.put(2)
    assert q.full()
    t0 = time.monotonic()
    with pytest.raises(queue.Full):
        q.put(3, timeout=0.1)
    assert 0.1 <= time.monotonic() - t0 <= 0.1 + NOT_LATE
    with pytest.raises(queue.Full):
        q.put_nowait(3)
    with pytest.raises(queue.Full):  # more than maxsize can never fit
        q.put_many([1, 2, 3], timeout=5)
    assert q.get() == 1 and q.qsize() == 1


def test_negative_timeout_is_valueerror(client, name):
    q = ipcd.Queue(name)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    with pytest.raises(ValueError):
        q.put(1, timeout=-1)
    with pytest.raises(ValueError):
        q.get_many(0)


def test_blocking_get_wakes_on_put_from_another_connection(client, daemon, name):
    q = ipcd.Queue(name)
    other = ipcd.Client(daemon.sock_path)
    import threading
    t = threading.Timer(0.05, lambda: ipcd.Queue(name, client=other).put("x"))
    t.start()
    try:
        assert q.get(timeout=5) == "x"
    finally:
        t.join(5)
        other.close()


def test_maxsize_conflict_is_exists(client, name):
    ipcd.Queue(name, maxsize=3)
    ipcd.Queue(name, maxsize=3)  # same options: fine
    ipcd.Queue(name)  # no options: uses it as it is
    with pytest.raises(ipcd.Exists):
        ipcd.Queue(name, maxsize=4)


def test_wrong_type(client, name):
    ipcd.Dict(name)["k"] = 1
    with pytest.raises(ipcd.WrongType):
        ipcd.Queue(name).put(1)


def test_values_round_trip(client, name):
    q = ipcd.Queue(name)
    q.put_many(VALUES)
    assert q.get_many(len(VALUES) + 5) == VALUES
    q.put((1, (2, 3)))
    assert q.get() == [1, [2, 3]]  # tuples come back as lists


def test_deleted_while_waiting(client, daemon, name):
    import threading
    q = ipcd.Queue(name)
    other = ipcd.Client(daemon.sock_path)
    q.put(0)  # make it exist
    q.get()
    def delete_when_parked():
        st = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            st = other.call("stat", name)
            if st["waiting"]:
                break
        other.call("delete", name)
    t = threading.Thread(target=delete_when_parked)
    t.start()
    try:
        with pytest.raises(ipcd.Deleted):
            q.get(timeout=5)
    finally:
        t.join(5)
        other.close()
