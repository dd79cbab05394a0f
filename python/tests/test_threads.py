"""Threads sharing one client: a blocking call in one thread never delays
another thread's, a proxy used from a signal handler or a __del__ in the
middle of a call does not deadlock, and threads that end close their
connections."""
import _thread
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import ipcd
from ipcd_testlib import NOT_LATE

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(ipcd.__file__)))  # the package under test
JOIN = 60 + 10 * NOT_LATE  # a stuck thread fails the test instead of hanging it


def start(target, *args):
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


def join_all(threads):
    deadline = time.monotonic() + JOIN
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a thread is stuck"


def wait_until(cond, what, bound=10 + 10 * NOT_LATE):
    deadline = time.monotonic() + bound
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def parked(watcher, name):
    return watcher.call("exists", name) and watcher.call("stat", name)["waiting"] > 0


def test_producer_and_consumer_threads_share_one_proxy(client, name):
    q = ipcd.Queue(name)
    producers = consumers = 50
    per = 40
    got = [[] for _ in range(consumers)]
    errors = []

    def produce(p):
        try:
            for i in range(per):
                q.put([p, i])
        except Exception as e:
            errors.append(e)

    def consume(c):
        try:
            while True:
                item = q.get(timeout=JOIN)
                if item is None:
                    return
                got[c].append(tuple(item))
        except Exception as e:
            errors.append(e)

    # Consumers first: every one is parked in get() while the producers put.
    cons = [start(consume, c) for c in range(consumers)]
    prods = [start(produce, p) for p in range(producers)]
    join_all(prods)
    for _ in range(consumers):
        q.put(None)
    join_all(cons)
    assert not errors, errors
    delivered = [x for g in got for x in g]
    assert len(delivered) == producers * per
    assert set(delivered) == {(p, i) for p in range(producers) for i in range(per)}
    # each producer's items come out in the order it put them
    for g in got:
        for p in range(producers):
            mine = [i for pp, i in g if pp == p]
            assert mine == sorted(mine)


def test_join_with_worker_threads_calling_task_done(client, name):
    q = ipcd.JoinableQueue(name)
    done = []
    errors = []

    def work():
        try:
            while True:
                item = q.get(timeout=JOIN)
                if item is None:
                    q.task_done()
                    return
                done.append(item)
                q.task_done()
        except Exception as e:
            errors.append(e)

    workers = [start(work) for _ in range(8)]
    for i in range(200):
        q.put(i)
    q.join(timeout=JOIN)  # waits while the workers' gets and task_dones go on
    assert sorted(done) == list(range(200))
    for _ in workers:
        q.put(None)
    q.join(timeout=JOIN)
    join_all(workers)
    assert not errors, errors


def test_a_blocked_get_does_not_delay_puts_in_another_thread(client, daemon, name):
    idle, busy = ipcd.Queue(name + ".idle"), ipcd.Queue(name + ".busy")
    result = []
    getter = start(lambda: result.append(idle.get(timeout=120)))
    watcher = ipcd.Client(daemon.sock_path)
    wait_until(lambda: parked(watcher, idle.name), "the get did not park")
    t0 = time.monotonic()
    for i in range(1000):
        busy.put(i)
    elapsed = time.monotonic() - t0
    assert getter.is_alive() and result == []  # the get waited all along
    assert busy.qsize() == 1000
    assert elapsed < 10 * NOT_LATE, elapsed
    idle.put("wake")
    join_all([getter])
    assert result == ["wake"]
    watcher.close()


def test_a_waiting_pipeline_in_one_thread_does_not_delay_another(client, daemon, name):
    result = []
    t = start(lambda: result.append(client.pipeline([("queue.get", (name, 120))])))
    watcher = ipcd.Client(daemon.sock_path)
    wait_until(lambda: parked(watcher, name), "the pipelined get did not park")
    assert ipcd.Dict(name + ".d").incr("n") == 1
    ipcd.Queue(name).put("x")
    join_all([t])
    assert result == [["x"]]
    watcher.close()


def cname(name):
    """A client name for hello from a test's object name (the daemon keeps
    only the first 31 bytes of one)."""
    return "py-%d-%s" % (os.getpid(), name.rsplit(".", 1)[1])


def daemon_clients(watcher, client_name):
    """How many of the daemon's connections carry client_name (hello's)."""
    n, cursor = 0, 0
    while True:
        cursor, page = watcher.call("clients", cursor, 1000)
        n += sum(1 for c in page if c["name"] == client_name)
        if cursor == 0:
            return n


def test_threads_that_end_close_their_connections(daemon, name):
    c = ipcd.Client(daemon.sock_path, name=cname(name))
    d = ipcd.Dict(name, client=c)
    watcher = ipcd.Client(daemon.sock_path)
    n = 20
    all_in = threading.Barrier(n + 1, timeout=JOIN)
    errors = []

    def work():
        try:
            d.incr("n")
            all_in.wait()   # every thread alive, each with its connection
            all_in.wait()
        except Exception as e:
            errors.append(e)

    for _round in range(3):  # threads that come and go do not pile up sockets
        ts = [start(work) for _ in range(n)]
        all_in.wait()
        assert c.connections == n
        assert daemon_clients(watcher, cname(name)) == n
        all_in.wait()
        join_all(ts)
        gc.collect()
        assert c.connections == 0, repr(c)
        wait_until(lambda: daemon_clients(watcher, cname(name)) == 0, "connections of ended threads stay open")
    assert not errors, errors
    assert d["n"] == 3 * n
    watcher.close()


def test_a_connection_survives_an_exception_kept_after_its_thread(daemon, name):
    # A stored traceback refers to the thread's connection: it closes anyway.
    c = ipcd.Client(daemon.sock_path, name=cname(name))
    watcher = ipcd.Client(daemon.sock_path)
    kept = []

    def fail():
        try:
            ipcd.Queue(name, client=c).get(block=False)
        except ipcd.Empty as e:
            kept.append(e)
    t = start(fail)
    join_all([t])
    assert kept and kept[0].__traceback__ is not None
    wait_until(lambda: daemon_clients(watcher, cname(name)) == 0, "an ended thread's connection stays open")
    assert c.connections == 0
    watcher.close()


def test_threads_of_the_thread_module(daemon, name, current_thread_calls):
    """A thread started with _thread works (and closes its connection when
    it ends) without the package calling threading.current_thread()."""
    c = ipcd.Client(daemon.sock_path, name=cname(name))
    watcher = ipcd.Client(daemon.sock_path)
    q = ipcd.Queue(name, client=c)
    finished = _thread.allocate_lock()
    finished.acquire()
    out = []

    def body():
        try:
            q.put("from _thread")
            out.append(q.get(timeout=10))
        finally:
            finished.release()
    _thread.start_new_thread(body, ())
    assert finished.acquire(timeout=JOIN)
    assert out == ["from _thread"]
    assert current_thread_calls == []
    wait_until(lambda: daemon_clients(watcher, cname(name)) == 0, "a _thread thread's connection stays open")
    watcher.close()


# A signal handler and a __del__ run in the main thread while it is inside a
# call. A deadlock there never ends, so each scenario runs in a child process
# the test bounds (and kills, only it, if it overruns).
REENTRANT = textwrap.dedent("""
    import os, signal, sys, threading, time
    sys.path.insert(0, {pydir!r})
    import ipcd
    c = ipcd.connect({sock!r})
    q = ipcd.Queue({name!r})
    watcher = ipcd.Client({sock!r})
    log = ipcd.List({name!r} + ".log")
    main = threading.get_ident()

    class Reporter:
        def __del__(self):
            log.append("del")          # a proxy call from __del__
            q.put("from __del__")

    holder = [Reporter()]

    def handler(signum, frame):
        log.append("handler")          # a proxy call from a signal handler
        if {via_del!r}:
            holder.clear()             # runs Reporter.__del__ here
        else:
            q.put("from the handler")

    signal.signal(signal.SIGUSR1, handler)

    def poke():
        deadline = time.monotonic() + 20
        while not (watcher.call("exists", {name!r}) and watcher.call("stat", {name!r})["waiting"]):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        signal.pthread_kill(main, signal.SIGUSR1)
    threading.Thread(target=poke, daemon=True).start()
    got = q.get(timeout=30)            # blocked here when the signal comes
    print(got, log[:], c.ping("still in step"), flush=True)
""")


@pytest.mark.parametrize("via_del", [False, True], ids=["signal-handler", "del"])
def test_proxy_used_while_its_thread_is_inside_a_call(daemon, name, via_del):
    script = REENTRANT.format(pydir=PYDIR, sock=daemon.sock_path,
                              name=name, via_del=via_del)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=30 + 10 * NOT_LATE)
    assert p.returncode == 0, p.stderr
    if via_del:
        assert p.stdout.split("\n")[0] == "from __del__ ['handler', 'del'] still in step"
    else:
        assert p.stdout.split("\n")[0] == "from the handler ['handler'] still in step"


def test_gc_running_del_inside_a_call_does_not_deadlock(daemon, name):
    script = textwrap.dedent("""
        import gc, sys
        sys.path.insert(0, {pydir!r})
        import ipcd
        ipcd.connect({sock!r})
        d = ipcd.Dict({name!r})

        class Cycle:
            def __init__(self):
                self.me = self
            def __del__(self):
                d.incr("dels")

        gc.set_threshold(1, 1, 1)      # a collection at nearly any allocation
        for i in range(300):
            Cycle()
            d.incr("calls")
        gc.collect()
        print(d["calls"], d["dels"], flush=True)
    """).format(pydir=PYDIR, sock=daemon.sock_path, name=name)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=30 + 10 * NOT_LATE)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["300", "300"]


def test_a_fork_while_another_thread_waits(client, daemon, name):
    """The child of a process whose other thread is parked in a get opens its
    own connection (never the waiting thread's) and its put wakes that get."""
    q = ipcd.Queue(name)
    result = []
    getter = start(lambda: result.append(q.get(timeout=60)))
    watcher = ipcd.Client(daemon.sock_path)
    wait_until(lambda: parked(watcher, name), "the get did not park")
    q.qsize()  # this thread's connection is open too
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            assert client.connections == 0   # nothing inherited is used
            q.put(("child", os.getpid()))
            code = 0 if client.connections == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    join_all([getter])
    assert result == [["child", pid]]
    assert q.qsize() == 0 and client.connections >= 1
    watcher.close()
