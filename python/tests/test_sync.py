"""ipcd's Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and
Barrier against their threading counterparts: the same randomised sequences
give the same results, the errors are the standard library's, and what a
killed process held comes back (its lock with owner_died, its barrier
broken)."""
import contextlib
import multiprocessing as mp
import os
import random
import signal
import threading
import time

import pytest

import ipcd
from ipcd.sync import Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore
from ipcd_testlib import NOT_LATE


def outcome(call):
    """None if call() returned, else the type of what it raised."""
    try:
        call()
    except Exception as e:   # the comparison is the point: which one, or none
        return type(e)
    return None


def test_lock_against_threading(client, name):
    rng = random.Random(7)
    mine, ref = Lock(name), threading.Lock()
    for _ in range(300):
        op = rng.choice(["acquire0", "release", "locked"])
        if op == "acquire0":
            assert mine.acquire(False) == ref.acquire(False)
        elif op == "release":
            assert outcome(mine.release) == outcome(ref.release)
        else:
            assert mine.locked() == ref.locked()


def test_rlock_against_threading(client, name):
    rng = random.Random(11)
    mine, ref = RLock(name), threading.RLock()
    for _ in range(300):
        if rng.random() < 0.5:
            assert mine.acquire(False) == ref.acquire(False)
        else:
            assert outcome(mine.release) == outcome(ref.release)


@pytest.mark.parametrize("bounded", [False, True])
def test_semaphore_against_threading(client, name, bounded):
    rng = random.Random(5)
    cls, ref_cls = (BoundedSemaphore, threading.BoundedSemaphore) if bounded else (Semaphore, threading.Semaphore)
    mine, ref, value = cls(name, 3), ref_cls(3), 3
    for _ in range(300):
        if rng.random() < 0.5:
            got, want = mine.acquire(False), ref.acquire(False)
            assert got == want
            value -= got
        else:
            want = outcome(ref.release)
            assert outcome(mine.release) == want
            value += want is None
        assert mine.get_value() == value


def test_event_against_threading(client, name):
    rng = random.Random(3)
    mine, ref = Event(name), threading.Event()
    for _ in range(200):
        op = rng.choice(["set", "clear", "is_set", "wait0"])
        if op == "wait0":
            assert mine.wait(0) == ref.wait(0)
        elif op == "is_set":
            assert mine.is_set() == ref.is_set()
        else:
            getattr(mine, op)()
            getattr(ref, op)()


def test_errors_and_timeouts_are_the_standard_librarys(client, name):
    lock, ref = Lock(name), threading.Lock()
    for kwargs in ({"blocking": False, "timeout": 1}, {"timeout": -2}):
        with pytest.raises(ValueError) as want:
            ref.acquire(**kwargs)
        with pytest.raises(ValueError) as got:
            lock.acquire(**kwargs)
        assert str(got.value) == str(want.value)
    with pytest.raises(OverflowError):
        lock.acquire(timeout=threading.TIMEOUT_MAX * 2)
    with pytest.raises(ValueError):
        Semaphore(name + ".s", -1)
    cond = Condition(name + ".c")
    with pytest.raises(RuntimeError):
        cond.wait(0)
    with pytest.raises(RuntimeError):
        cond.notify()
    # a lock that is held: acquire with a timeout is never early
    assert lock.acquire()
    t0 = time.monotonic()
    assert lock.acquire(timeout=0.2) is False
    assert 0.2 <= time.monotonic() - t0 < 0.2 + NOT_LATE
    lock.release()


def test_condition_wait_notify_between_threads(daemon, client, name):
    cond = Condition(name)
    items, done = [], []

    def consumer():
        c = Condition(name, client=ipcd.connect(daemon.sock_path))
        with c:
            assert c.wait_for(lambda: items, timeout=10 + NOT_LATE)
            done.append(items[0])

    t = threading.Thread(target=consumer)
    t.start()
    deadline = time.monotonic() + 10
    while client.call("stat", name)["waiting"] < 1:
        assert time.monotonic() < deadline
    with cond:
        items.append("x")
        cond.notify()
    t.join(10 + NOT_LATE)
    assert done == ["x"]
    with cond:
        assert cond.wait(0.05) is False      # nobody notifies: the time runs out, the lock is held again


def _hold_and_wait(path, name, ready):
    ipcd.connect(path)
    Lock(name).acquire()
    ready.set()
    time.sleep(3600)


def _waiter(path, name, out, i):
    ipcd.connect(path)
    lock = Lock(name)
    lock.acquire()
    out.put((i, lock.owner_died, time.monotonic()))
    lock.release()


def test_a_killed_holder_frees_its_lock_for_the_waiters_in_order(daemon, client, name):
    ctx = mp.get_context("fork")
    ready, out = ctx.Event(), ctx.Queue()
    holder = ctx.Process(target=_hold_and_wait, args=(daemon.sock_path, name, ready))
    holder.start()
    assert ready.wait(10)
    waiters = []
    for i in range(4):
        p = ctx.Process(target=_waiter, args=(daemon.sock_path, name, out, i))
        p.start()
        waiters.append(p)
        deadline = time.monotonic() + 10
        while client.call("stat", name)["waiting"] < i + 1:      # in this order
            assert time.monotonic() < deadline
    killed_at = time.monotonic()
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    # mp.Queue's feeder threads may deliver the reports in any order: the
    # order is that of the times the lock was taken (one clock for all)
    got = sorted((out.get(timeout=10) for _ in range(4)), key=lambda g: g[2])
    for p in waiters:
        p.join(10)
    assert [i for i, _, _ in got] == [0, 1, 2, 3]
    assert [died for _, died, _ in got] == [True, False, False, False]
    assert got[0][2] - killed_at < 0.05 + NOT_LATE


def _party(path, name, out, sleep_forever):
    ipcd.connect(path)
    b = Barrier(name, 8)
    if sleep_forever:
        out.put(("waiting", os.getpid()))
        b.wait()
        return
    try:
        b.wait()
        out.put(("passed", os.getpid()))
    except threading.BrokenBarrierError:
        out.put(("broken", os.getpid()))


def test_a_killed_party_breaks_the_barrier_for_the_others(daemon, client, name):
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    victim = ctx.Process(target=_party, args=(daemon.sock_path, name, out, True))
    victim.start()
    assert out.get(timeout=10)[0] == "waiting"
    others = [ctx.Process(target=_party, args=(daemon.sock_path, name, out, False)) for _ in range(6)]
    for p in others:
        p.start()
    deadline = time.monotonic() + 10
    while Barrier(name, 8).n_waiting < 7:
        assert time.monotonic() < deadline
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    results = [out.get(timeout=10)[0] for _ in range(6)]
    for p in others:
        p.join(10)
    assert results == ["broken"] * 6
    assert Barrier(name, 8).broken


def test_barrier_wait_returns_every_index_once(daemon, client, name):
    idx = []
    lock = threading.Lock()

    def party():
        i = Barrier(name, 4, client=ipcd.connect(daemon.sock_path)).wait(10)
        with lock:
            idx.append(i)

    threads = [threading.Thread(target=party) for _ in range(3)]
    for t in threads:
        t.start()
    idx.append(Barrier(name, 4).wait(10))
    for t in threads:
        t.join(10)
    assert sorted(idx) == [0, 1, 2, 3]


def test_proxies_pickle_to_the_same_object(client, name):
    import pickle
    for proxy in (Lock(name + ".l"), RLock(name + ".r"), Semaphore(name + ".s", 2), Event(name + ".e"),
                  Condition(name + ".c"), Barrier(name + ".b", 3, timeout=5)):
        back = pickle.loads(pickle.dumps(proxy))
        assert type(back) is type(proxy) and back.name == proxy.name
    assert pickle.loads(pickle.dumps(Barrier(name + ".b", 3, timeout=5)))._timeout == 5


# ---- Value and Array ------------------------------------------------------------

def _incr(path, name, n):
    ipcd.connect(path)
    v = ipcd.Value(name, "i")
    for _ in range(n):
        v.add(1)


def test_the_lessons_racy_counter_is_exact_with_add(daemon, client, name):
    # 8 processes x 2,000 increments: exactly 16,000 (the lesson's
    # counter.value += 1 loses updates; add() cannot).
    counter = ipcd.Value(name, "i", 0)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_incr, args=(daemon.sock_path, name, 2000)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert counter.value == 16000


def test_value_like_multiprocessing(client, name):
    v = ipcd.Value(name, "d", 1.5)
    assert v.value == 1.5 and v.get() == 1.5 and v.typecode == "d"
    v.value = 2.25
    assert v.add(0.75) == 3.0
    v.set(True)
    assert v.value == 1.0
    assert v.compare_and_set(1.0, 5.0) and not v.compare_and_set(1.0, 6.0) and v.value == 5.0
    b = ipcd.Value(name + ".flag", "b", True)
    assert b.value == 1
    with pytest.raises(ipcd.Overflow):
        b.value = 300
    c = ipcd.Value(name + ".c", "c", b"x")
    assert c.value == b"x"
    with pytest.raises(ValueError):
        ipcd.Value(name + ".bad", "z")
    with v.get_lock():
        v.value = v.value + 1
    assert v.value == 6.0


def test_array_against_a_list(client, name):
    rng = random.Random(13)
    ref = [0] * 10
    arr = ipcd.Array(name, "q", 10)
    assert len(arr) == 10 and arr.typecode == "q"
    for _ in range(200):
        i = rng.randrange(-10, 10)
        op = rng.random()
        if op < 0.4:
            ref[i] = rng.randrange(-1000, 1000)
            arr[i] = ref[i]
        elif op < 0.6:
            ref[i] += 3
            assert arr.add(i, 3) == ref[i]
        elif op < 0.8:
            a, b = sorted(rng.randrange(-12, 12) for _ in range(2))
            assert arr[a:b] == ref[a:b]
        else:
            a = rng.randrange(0, 9)
            vals = [rng.randrange(100) for _ in range(3)]
            if a + 3 <= 10:
                ref[a:a + 3] = vals
                arr[a:a + 3] = vals
        assert arr[i] == ref[i]
    assert list(arr) == ref
    with pytest.raises(ipcd.Index):
        arr[10]
    with pytest.raises(ValueError):
        arr[::2]
    init = ipcd.Array(name + ".init", "d", [1.5, 2.5])
    assert init[:] == [1.5, 2.5]


# ---- a barrier's action, across spawned processes -------------------------------

def mark_round(list_name):
    """A barrier action: note that it ran, and in which process."""
    ipcd.List(list_name).append(["action", os.getpid()])


def failing_action():
    raise KeyError("the action failed")


def _action_party(barrier, log, out):
    # barrier arrives pickled, its action and default timeout with it
    try:
        i = barrier.wait()
        out.put(("index", i, os.getpid(), log[:]))   # what the action left is there already
    except threading.BrokenBarrierError:
        out.put(("broken", None, os.getpid(), None))
    except KeyError:
        out.put(("raised", None, os.getpid(), None))


def _run_parties(barrier, log, n):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_action_party, args=(barrier, log, out)) for _ in range(n)]
    for p in procs:
        p.start()
    try:
        return sorted((out.get(timeout=60) for _ in procs), key=lambda r: (r[0], r[1] is None, r[1]))
    finally:
        for p in procs:
            p.join(30)


def test_a_barriers_action_runs_in_the_last_party_before_any_is_released(daemon, client, name):
    import functools
    log = ipcd.List(name + ".log")
    b = Barrier(name, 4, functools.partial(mark_round, log.name), timeout=30)
    got = _run_parties(b, log, 4)
    assert [r[1] for r in got] == [0, 1, 2, 3]
    actions = log[:]
    assert len(actions) == 1
    last_pid = got[3][2]
    assert actions == [["action", last_pid]]          # run by the last to arrive ...
    assert all(r[3] == actions for r in got)         # ... before any party went on
    assert not Barrier(name, 4).broken


def test_an_action_that_raises_breaks_the_barrier_and_raises_in_the_last(daemon, client, name):
    log = ipcd.List(name + ".log")
    b = Barrier(name, 3, failing_action, timeout=30)
    got = _run_parties(b, log, 3)
    assert sorted(r[0] for r in got) == ["broken", "broken", "raised"]
    assert Barrier(name, 3).broken


def test_a_barrier_pickles_with_its_action_and_timeout(client, name):
    import pickle
    b = pickle.loads(pickle.dumps(Barrier(name, 2, failing_action, 7)))
    assert b._action is failing_action and b._timeout == 7


def test_an_action_in_one_party_against_threading(client, name):
    """The same sequence as threading.Barrier: one action per round, in the
    party that returns parties - 1."""
    ran, ref_ran = [], []
    mine = Barrier(name, 3, lambda: ran.append(threading.get_ident()))
    ref = threading.Barrier(3, lambda: ref_ran.append(threading.get_ident()))

    def party(bar, out):
        out.append((bar.wait(10), threading.get_ident()))

    for bar, log in ((mine, ran), (ref, ref_ran)):
        out = []
        threads = [threading.Thread(target=party, args=(bar, out)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert sorted(i for i, _ in out) == [0, 1, 2]
        assert log == [dict((i, t) for t, i in [(t, i) for i, t in out])[2]]


# ---- a Condition wait interrupted ------------------------------------------------

def _holds(client, pid):
    """{object name: count} held by each connection of pid, one map per connection."""
    _, conns = client.call("clients")
    return [{h["name"]: h["count"] for h in c["holds"]} for c in conns if c["pid"] == pid]


def _conn_id(client, pid):
    """The id of pid's one connection."""
    (c,) = [c for c in client.call("clients")[1] if c["pid"] == pid]
    return c["id"]


def _bytes_in(client, pid):
    """Request bytes the daemon has had from pid's one connection."""
    _, conns = client.call("clients")
    (c,) = [c for c in conns if c["pid"] == pid]
    return c["bytes_in"]


def _interrupted_waiter(path, name, out):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ipcd.connect(path)
    other = Lock(name + ".other")
    other.acquire()       # held across the interrupted wait, on the same connection
    cond = Condition(name)
    cond.acquire()
    cond.acquire()        # an RLock taken twice: both come back
    out.put(("waiting", os.getpid()))
    try:
        cond.wait()
        out.put(("returned",))
        return
    except KeyboardInterrupt:
        pass
    c = ipcd.default_client()
    st, ost = c.call("stat", name), c.call("stat", name + ".other")
    (me,) = [x for x in c.call("clients")[1] if x["self"]]
    out.put(("interrupted", st["holder"], st["count"], [w["pid"] for w in st["waiters"]],
             ost["holder"], me["id"], sorted(h["name"] for h in me["holds"])))
    cond.release()
    cond.release()
    try:
        cond.release()
        out.put(("released", "a third time"))
    except RuntimeError:
        out.put(("released", "twice"))
    other.release()


def _plain_waiter(path, name, out):
    ipcd.connect(path)
    cond = Condition(name)
    with cond:
        out.put(("waiting", os.getpid()))
        out.put(("notified", cond.wait(60)))


def _wait_for_waiters(client, name, n, phase=None):
    deadline = time.monotonic() + 10
    while True:
        ws = client.call("stat", name)["waiters"]
        if len(ws) >= n and (phase is None or ws[0]["phase"] == phase):
            return
        assert time.monotonic() < deadline, ws
        time.sleep(0.005)


@contextlib.contextmanager
def _two_condition_waiters(daemon, client, name):
    """A process that waits on the condition holding another lock (and
    reports what it holds when interrupted) and, behind it, a plain waiter:
    (cond, waiter, out, other, other_out), both waiting; killed if still
    alive afterwards."""
    ctx = mp.get_context("fork")
    out, other_out = ctx.Queue(), ctx.Queue()
    waiter = ctx.Process(target=_interrupted_waiter, args=(daemon.sock_path, name, out))
    waiter.start()
    other = None
    try:
        assert out.get(timeout=10)[0] == "waiting"
        other = ctx.Process(target=_plain_waiter, args=(daemon.sock_path, name, other_out))
        other.start()
        assert other_out.get(timeout=10)[0] == "waiting"
        _wait_for_waiters(client, name, 2)
        yield Condition(name), waiter, out, other, other_out
    finally:
        for p in (waiter, other):
            if p is not None and p.is_alive():
                p.kill()
                p.join(10)


def test_a_condition_wait_interrupted_by_sigint_holds_the_lock_again(daemon, client, name):
    """The wait ends (the daemon's waiter with it), the condition's lock is
    held again with its count, and the process's other lock is still held,
    on the same one connection: nothing was given up by an interrupt."""
    with _two_condition_waiters(daemon, client, name) as (cond, waiter, out, other, other_out):
        # one connection, holding the other lock and its place in the wait
        assert _holds(client, waiter.pid) == [{name: 1, name + ".other": 1}]
        conn = _conn_id(client, waiter.pid)
        os.kill(waiter.pid, signal.SIGINT)
        got = out.get(timeout=10)
        # the lock is the interrupted process's again, with its count, and it
        # waits no more; the other waiter is still waiting; the other lock
        # never left it: the connection that holds both is the one it had
        assert got == ("interrupted", waiter.pid, 2, [other.pid], waiter.pid, conn,
                       sorted([name, name + ".other"]))
        assert out.get(timeout=10) == ("released", "twice")
        waiter.join(10)
        assert waiter.exitcode == 0
        with cond:                 # the notify reaches the waiter left
            cond.notify()
        assert other_out.get(timeout=10) == ("notified", True)
        other.join(10)
        st = client.call("stat", name)
        assert st["waiters"] == [] and st["locked"] is False


def test_a_notify_given_to_an_interrupted_wait_is_passed_on(daemon, client, name):
    """Notified, then interrupted while in line for the lock: the wait
    takes the lock back, and the notify goes to the next wait instead of
    being lost with the interrupted one."""
    with _two_condition_waiters(daemon, client, name) as (cond, waiter, out, other, other_out):
        with cond:
            assert cond._client.call("condition.notify", name, 1) == 1   # the oldest: the interrupted one
            _wait_for_waiters(client, name, 2, "notified")
            sent = _bytes_in(client, waiter.pid)
            os.kill(waiter.pid, signal.SIGINT)
            # the cancel reaches the daemon while we hold the lock, so the
            # interrupted wait is still in line for it
            deadline = time.monotonic() + 10
            while _bytes_in(client, waiter.pid) == sent:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            assert _holds(client, waiter.pid) == [{name: 1, name + ".other": 1}]
        got = out.get(timeout=10)
        assert got[:3] == ("interrupted", waiter.pid, 2) and got[4] == waiter.pid
        assert out.get(timeout=10) == ("released", "twice")
        assert other_out.get(timeout=10) == ("notified", True)
        waiter.join(10)
        other.join(10)
        assert waiter.exitcode == 0 and other.exitcode == 0


def _lonely_party(barrier, out):
    t0 = time.monotonic()
    try:
        barrier.wait()      # its default timeout, from the pickled proxy
        out.put(("returned", time.monotonic() - t0))
    except threading.BrokenBarrierError:
        out.put(("broken", time.monotonic() - t0))


def test_a_barriers_default_timeout_reaches_a_spawned_process(daemon, client, name):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    p = ctx.Process(target=_lonely_party, args=(Barrier(name, 2, timeout=0.3), out))
    p.start()
    try:
        what, took = out.get(timeout=60)
        assert what == "broken" and 0.3 <= took < 0.3 + NOT_LATE
        assert Barrier(name, 2).broken
    finally:
        p.join(30)


# ---- other waits interrupted ----------------------------------------------------------

def _interrupted_in(path, name, kind, out):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ipcd.connect(path)
    other = Lock(name + ".other")
    other.acquire()
    obj = {"lock": lambda: Lock(name), "semaphore": lambda: Semaphore(name, 0),
           "event": lambda: Event(name), "barrier": lambda: Barrier(name, 2)}[kind]()
    wait = obj.wait if kind in ("event", "barrier") else obj.acquire
    out.put("waiting")
    try:
        wait()
        out.put(("returned",))
        return
    except KeyboardInterrupt:
        pass
    (me,) = [x for x in ipcd.default_client().call("clients")[1] if x["self"]]
    out.put(("interrupted", me["id"], sorted(h["name"] for h in me["holds"])))
    other.release()


@contextlib.contextmanager
def _forked(target, *args):
    """A forked process running target(*args), killed if still alive after."""
    p = mp.get_context("fork").Process(target=target, args=args)
    p.start()
    try:
        yield p
    finally:
        if p.is_alive():
            p.kill()
            p.join(10)


@pytest.mark.parametrize("kind", ["lock", "semaphore", "event", "barrier"])
def test_an_interrupted_wait_keeps_the_threads_other_locks(daemon, client, name, kind):
    """SIGINT while Lock.acquire, Semaphore.acquire, Event.wait or
    Barrier.wait waits: the wait ends in the daemon (an acquire takes
    nothing, a barrier breaks, as threading's does), and the process keeps
    its connection and the other lock it holds."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    held = Lock(name) if kind == "lock" else None
    if held is not None:
        held.acquire()
    with _forked(_interrupted_in, daemon.sock_path, name, kind, out) as p:
        assert out.get(timeout=10) == "waiting"
        deadline = time.monotonic() + 10
        while True:
            (conn,) = [c for c in client.call("clients")[1] if c["pid"] == p.pid]
            if conn["blocked"] is not None:
                break
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(p.pid, signal.SIGINT)
        assert out.get(timeout=10) == ("interrupted", conn["id"], [name + ".other"])
        # an event nobody waits on any more is dropped: nothing waits either way
        assert not client.exists(name) or client.call("stat", name)["waiting"] == 0
        if kind == "lock":
            held.release()
            assert not held.locked()        # not handed to the interrupted acquire
        elif kind == "semaphore":
            Semaphore(name, 0).release()
            assert Semaphore(name, 0).get_value() == 1
        elif kind == "barrier":
            assert Barrier(name, 2).broken
        p.join(10)
        assert p.exitcode == 0


def _waiter_whose_cancel_fails(path, name, out):
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def broken(self, conn, rid):
        raise ipcd.ConnectionLost("the daemon went away while the wait was being ended")
    ipcd.Client._cancel = broken
    ipcd.connect(path)
    cond = Condition(name)
    cond.acquire()
    out.put("waiting")
    try:
        cond.wait()
        out.put(("returned",))
    except KeyboardInterrupt:
        out.put(("interrupted", ipcd.default_client().call("stat", name)["holder"]))
    except BaseException as e:
        out.put(("raised", type(e).__name__))
    cond.release()


def test_an_interrupt_whose_cancel_fails_still_raises_keyboardinterrupt(daemon, client, name):
    """The connection breaking while the wait is ended is not what the
    caller hears of: the interrupt goes on, and the lock is taken back on a
    new connection."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    with _forked(_waiter_whose_cancel_fails, daemon.sock_path, name, out) as p:
        assert out.get(timeout=10) == "waiting"
        _wait_for_waiters(client, name, 1)
        os.kill(p.pid, signal.SIGINT)
        assert out.get(timeout=10) == ("interrupted", p.pid)
        p.join(10)
        assert p.exitcode == 0
