"""ipcd.Queue against queue.Queue: randomised sequences, timeouts, bounds."""
import queue
import threading
import time
import weakref

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


def outcome(f):
    """What f() did: ("ok", result) or (exception class, message)."""
    try:
        return ("ok", f())
    except queue.Empty:
        return (queue.Empty, None)
    except queue.Full:
        return (queue.Full, None)
    except Exception as e:
        return (type(e), str(e) if isinstance(e, ValueError) else None)


BAD_TIMEOUTS = [-1, -1e-9, -0.0, 0, threading.TIMEOUT_MAX * 2,
                float("inf"), 1e300, "1"]


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=repr)
@pytest.mark.parametrize("maxsize,filled", [(0, 0), (0, 1), (1, 0), (1, 1)],
                         ids=["unbounded-empty", "unbounded-1", "bounded-empty", "bounded-full"])
def test_timeout_checks_as_queue_Queue(client, name, timeout, maxsize, filled):
    """Each get/put with block, on an empty or non-empty, bounded or not
    queue, does what queue.Queue does: ValueError for a negative timeout,
    OverflowError over threading.TIMEOUT_MAX only where it would wait,
    TypeError for one that is not a number."""
    q, ref = ipcd.Queue(name, maxsize), queue.Queue(maxsize)
    for i in range(filled):
        q.put(i)
        ref.put(i)
    for op in ("get", "put"):
        call = (lambda x: x.get(True, timeout)) if op == "get" else (lambda x: x.put("v", True, timeout))
        want, got = outcome(lambda: call(ref)), outcome(lambda: call(q))
        if want[0] is OverflowError:
            assert got[0] is OverflowError, (op, got)
        else:
            assert got == want, (op, timeout)
        assert q.qsize() == ref.qsize()


def test_block_false_ignores_the_timeout(client, name):
    q, ref = ipcd.Queue(name), queue.Queue()
    q.put(1)
    ref.put(1)
    assert outcome(lambda: q.get(False, -1)) == outcome(lambda: ref.get(False, -1)) == ("ok", 1)
    assert outcome(lambda: q.get(False, -1)) == outcome(lambda: ref.get(False, -1)) == (queue.Empty, None)


def test_other_waits_check_their_timeouts(client, name):
    q = ipcd.Queue(name)
    for call in (lambda: q.get_many(2, timeout=-1), lambda: q.put_many([1], timeout=-1),
                 lambda: q.get_ack(timeout=-1), lambda: q.join(timeout=-1)):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(OverflowError):
        q.get_many(2, timeout=float("inf"))
    with pytest.raises(OverflowError):
        q.get_ack(timeout=threading.TIMEOUT_MAX + 1)
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


def test_priority_and_delay_through_put(client, name):
    q = ipcd.Queue(name)
    q.put("plain")
    q.put("urgent", priority=-5)
    q.put("later", priority=7)
    q.put_nowait("soon", priority=-1)
    q.put("also plain", True, 5, 0)
    assert [q.get_nowait() for _ in range(5)] == ["urgent", "soon", "plain", "also plain", "later"]
    delay = 0.3
    t0 = time.monotonic()
    q.put("delayed", delay=delay)
    q.put_nowait("delayed too", delay=delay, priority=-9)
    q.put("now")
    assert q.qsize() == 3  # delayed items count
    assert q.get_nowait() == "now"
    with pytest.raises(queue.Empty):
        q.get_nowait()   # invisible until their time
    first = q.get(timeout=delay + 10 * NOT_LATE)
    waited = time.monotonic() - t0
    assert delay <= waited < delay + NOT_LATE, waited
    second = q.get(timeout=NOT_LATE)
    assert {first, second} == {"delayed", "delayed too"}
    q.put_many(["m1", "m2"], priority=-1)
    q.put("p0")
    assert q.get_many(3) == ["m1", "m2", "p0"]
    with pytest.raises(ValueError):
        q.put("x", delay=-1)
    with pytest.raises(TypeError):
        q.put("x", priority=1.5)
    assert q.qsize() == 0


def test_every_proxy_says_what_it_is(client, name):
    proxies = [ipcd.Queue(name), ipcd.JoinableQueue(name), ipcd.Dict(name), ipcd.List(name),
               ipcd.Namespace(name)]
    for p in proxies:
        assert repr(p) == "ipcd.%s(%r)" % (type(p).__name__, name)
    sync = [ipcd.Lock(name + ".l"), ipcd.RLock(name + ".r"), ipcd.Semaphore(name + ".s", 2),
            ipcd.BoundedSemaphore(name + ".b"), ipcd.Event(name + ".e"), ipcd.Condition(name + ".c"),
            ipcd.Barrier(name + ".p", 2), ipcd.Value(name + ".v", "i"), ipcd.Array(name + ".a", "d", 3)]
    for p in sync:
        assert repr(p) == "ipcd.%s(%r)" % (type(p).__name__, p.name)
        assert getattr(ipcd, type(p).__name__) is type(p)   # the repr names what to call
    ipcd.Queue(name).put(1)
    d = ipcd.Queue(name).get_ack()
    assert repr(d) == "ipcd.Delivery(%r, id=%d, value=1)" % (name, d.id)
    d.ack()
    assert client.path in repr(client) and "connection" in repr(client)


def test_proxies_support_weak_references(client, name):
    for cls in (ipcd.Queue, ipcd.Dict, ipcd.List, ipcd.Namespace):
        p = cls(name + cls.__name__)
        r = weakref.ref(p)
        assert r() is p
        del p
        assert r() is None
