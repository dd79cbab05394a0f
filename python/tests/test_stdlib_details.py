"""The details the standard library's own behaviour pins down, each against
threading's or multiprocessing's: timeouts out of range, a Condition's
default lock, weak references, typecode 'c' and bool initial values,
robust=False, and no threading.current_thread() from _thread threads."""
import _thread
import multiprocessing as mp
import os
import signal
import threading
import weakref

import pytest

import ipcd
from ipcd.sync import Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore
from ipcd_testlib import NOT_LATE

BIG = threading.TIMEOUT_MAX * 2


def outcome(call):
    """What call() returned, or the type of what it raised."""
    try:
        return call()
    except Exception as e:   # the comparison is the point
        return type(e)


def acquire_outcome(obj, kwargs):
    """acquire(**kwargs)'s result or exception type; given back if taken."""
    got = outcome(lambda: obj.acquire(**kwargs))
    if got is True:
        obj.release()
    return got


ACQUIRE_KWARGS = [{"timeout": -2}, {"timeout": -0.5}, {"timeout": BIG}, {"timeout": 0},
                  {"blocking": False, "timeout": 1}, {"blocking": False}, {}]


@pytest.mark.parametrize("kwargs", ACQUIRE_KWARGS, ids=repr)
def test_acquire_timeouts_as_threadings(client, name, kwargs):
    # free: each takes it, or refuses the arguments, as threading's does
    for mine, ref in ((Lock(name + ".l"), threading.Lock()), (RLock(name + ".r"), threading.RLock()),
                      (Semaphore(name + ".s", 1), threading.Semaphore(1)),
                      (BoundedSemaphore(name + ".b", 1), threading.BoundedSemaphore(1))):
        assert acquire_outcome(mine, kwargs) == acquire_outcome(ref, kwargs), type(ref)
    if kwargs == {}:
        return   # taken or not, that would wait for good
    # taken: a wait that would wait, or the arguments refused
    lock, ref = Lock(name + ".l"), threading.Lock()
    lock.acquire(), ref.acquire()
    assert acquire_outcome(lock, kwargs) == acquire_outcome(ref, kwargs)
    lock.release(), ref.release()
    sem, ref = Semaphore(name + ".z", 0), threading.Semaphore(0)
    assert acquire_outcome(sem, kwargs) == acquire_outcome(ref, kwargs)


@pytest.mark.parametrize("timeout", [-2, -0.5, 0, BIG])
def test_wait_timeouts_as_threadings(client, name, timeout):
    ev, ref_ev = Event(name + ".e"), threading.Event()
    assert outcome(lambda: ev.wait(timeout)) == outcome(lambda: ref_ev.wait(timeout))
    ev.set(), ref_ev.set()
    assert outcome(lambda: ev.wait(timeout)) == outcome(lambda: ref_ev.wait(timeout))   # set: no wait, no check
    cond, ref_cond = Condition(name + ".c"), threading.Condition()
    with cond, ref_cond:
        assert outcome(lambda: cond.wait(timeout)) == outcome(lambda: ref_cond.wait(timeout))
    sem, ref_sem = Semaphore(name + ".s", 0), threading.Semaphore(0)
    assert outcome(lambda: sem.acquire(timeout=timeout)) == outcome(lambda: ref_sem.acquire(timeout=timeout))
    bar, ref_bar = Barrier(name + ".b", 2), threading.Barrier(2)
    assert outcome(lambda: bar.wait(timeout)) == outcome(lambda: ref_bar.wait(timeout))
    assert bar.broken == ref_bar.broken


def test_a_conditions_default_lock_is_an_rlock(client, name):
    cond, ref = Condition(name), threading.Condition()
    for c in (cond, ref):
        assert c.acquire(False) and c.acquire(False)   # reentrant
        c.release(), c.release()
        with pytest.raises(RuntimeError):
            c.release()
    other = Condition(name, client=ipcd.Client(client.path))   # another "thread"
    assert cond.acquire()
    assert other.acquire(False) is False
    with pytest.raises(RuntimeError):
        other.release()        # an RLock its owner alone releases
    cond.release()


def test_releasing_what_is_not_held_is_runtimeerror(client, name):
    for mine, ref in ((Lock(name + ".l"), threading.Lock()), (RLock(name + ".r"), threading.RLock())):
        with pytest.raises(RuntimeError):
            ref.release()
        with pytest.raises(RuntimeError):
            mine.release()
    r = RLock(name + ".r")
    r.acquire()
    with pytest.raises(RuntimeError):
        RLock(name + ".r", client=ipcd.Client(client.path)).release()
    r.release()
    plain = Lock(name + ".l")
    plain.acquire()
    Lock(name + ".l", client=ipcd.Client(client.path)).release()   # a plain lock: anyone may
    assert not plain.locked()


def test_proxies_take_weak_references(client, name):
    makers = [lambda: Lock(name + ".l"), lambda: RLock(name + ".r"), lambda: Semaphore(name + ".s"),
              lambda: BoundedSemaphore(name + ".b"), lambda: Event(name + ".e"), lambda: Condition(name + ".c"),
              lambda: Barrier(name + ".ba", 2), lambda: ipcd.Value(name + ".v", "i"),
              lambda: ipcd.Array(name + ".a", "i", 2)]
    for make in makers:
        p = make()
        r = weakref.ref(p)
        assert r() is p
        del p
        assert r() is None


def test_typecode_c_and_bool_initial_values_as_multiprocessings(client, name):
    for init in (b"x", 120, True, False):
        v = ipcd.Value(name + ".%r" % (init,), "c", init)
        want = mp.Value("c", init).value
        assert v.value == want and v.get() == want
    v.set(b"y")
    assert v.value == b"y"
    arr, ref = ipcd.Array(name + ".ca", "c", b"abc"), mp.Array("c", b"abc")
    assert arr[:] == [bytes([b]) for b in ref.raw] and len(arr) == 3
    for tc in "bBhHiIlLqQ":
        b = ipcd.Value(name + ".b" + tc, tc, True)
        assert b.value == mp.Value(tc, True).value == 1
    f = ipcd.Value(name + ".f", "d", True)
    assert f.value == mp.Value("d", True).value == 1.0
    arr = ipcd.Array(name + ".ba", "i", [True, False, 3])
    assert arr[:] == list(mp.Array("i", [True, False, 3])) == [1, 0, 3]


def _hold(path, name, robust, ready):
    ipcd.connect(path)
    Lock(name, robust=robust).acquire()
    ready.set()
    signal.pause()


@pytest.mark.parametrize("robust", [True, False])
def test_robust_false_keeps_a_dead_holders_lock_held(daemon, client, name, robust):
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    p = ctx.Process(target=_hold, args=(daemon.sock_path, name, robust, ready))
    p.start()
    try:
        assert ready.wait(10)
        lock = Lock(name, robust=robust)
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
        if robust:
            assert lock.acquire(timeout=5 + NOT_LATE) and lock.owner_died
            lock.release()
        else:   # the Manager's behaviour: held for good, until someone releases it
            assert lock.acquire(timeout=0.3) is False and lock.locked()
            lock.release()   # a plain lock: anyone may, as a Manager's Lock
            assert lock.acquire(False) and not lock.owner_died
            lock.release()
    finally:
        if p.is_alive():
            p.kill()
            p.join(10)


def test_sync_proxies_in_thread_module_threads_never_ask_for_current_thread(daemon, client, name,
                                                                           current_thread_calls):
    finished = _thread.allocate_lock()
    finished.acquire()
    out = []

    def body():
        try:
            with Lock(name + ".l"), RLock(name + ".r"):
                pass
            cond = Condition(name + ".c")
            with cond:
                out.append(cond.wait(0))
                cond.notify_all()
            sem = BoundedSemaphore(name + ".s", 1)
            with sem:
                out.append(sem.get_value())
            ev = Event(name + ".e")
            ev.set()
            out.append(ev.wait(1))
            out.append(Barrier(name + ".b", 1, lambda: out.append("action")).wait(1))
            v = ipcd.Value(name + ".v", "i")
            out.append(v.add(2))
            with v.map() as m:
                out.append(m[0])
        finally:
            finished.release()
    _thread.start_new_thread(body, ())
    assert finished.acquire(timeout=30)
    assert out == [False, 0, True, "action", 0, 2, 2]
    assert current_thread_calls == []
