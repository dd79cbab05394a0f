#!/usr/bin/python3
"""peer_manager.py: the Python peers of ipcd-bench (multiprocessing.Manager
and multiprocessing.Queue), driven by ipcd-bench.

Run with Debian's /usr/bin/python3. Two commands:

  peer_manager.py serve ADDRESS
      Run a Manager server on the AF_UNIX path ADDRESS with named queues,
      dicts, lists and locks (the "remote manager" pattern of the
      multiprocessing docs), tell $NOTIFY_SOCKET "READY=1" once it listens,
      and serve until killed.

  peer_manager.py run SYSTEM WORKLOAD [--address A] [--n N] [--load L] [--objects O]
      Run one workload as a client of SYSTEM ("manager": the server at
      ADDRESS; "mpqueue": a plain multiprocessing.Queue, no server; "mpvalue":
      a multiprocessing.Value with its get_lock(), no server) and print
      one line of JSON: {"ops_per_s": N, "p50_us": N, "p99_us": N}, or
      {"bytes_per_item": N} for memory. Exit status 3: SYSTEM does not run
      WORKLOAD (ipcd-bench then prints no row for it).

This is the protocol every Python peer of ipcd-bench follows: another system
is added as another script with the same "run" command line and output.
bench_common.py, beside the peers, has that command line and what the peers
share (timing, the multi-process drivers); a peer brings its system's calls.
Latencies are per call, in microseconds; ops count requests (a put and a get
are two, a batch of 1,000 items is 1,000).
"""
import multiprocessing as mp
import os
import queue
import socket
import sys
import threading
import time
from multiprocessing.managers import AcquirerProxy, BaseManager, DictProxy, EventProxy, ListProxy, Value, ValueProxy

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_common.py, beside this

import bench_common as bc  # noqa: E402

AUTHKEY = b"ipcd-bench"

# ---- server ---------------------------------------------------------------

_queues, _dicts, _lists, _locks, _values, _events = {}, {}, {}, {}, {}, {}
_objs_lock = threading.Lock()


def _named(table, factory):
    def get(name):
        with _objs_lock:
            if name not in table:
                table[name] = factory()
            return table[name]
    return get


def _preload(name, n, size, objects):
    """Server side: fill queue NAME up to n items and create `objects` dicts,
    so that the loaded workload finds them without 1,000,000 round trips.
    Each item is its own bytes object, as items that came over the wire are."""
    q = _named(_queues, queue.Queue)(name)
    for i in range(q.qsize(), n):
        q.put_nowait(i.to_bytes(size, "little"))
    for i in range(objects):
        _named(_dicts, dict)("obj%d" % i)["k"] = b"x" * size
    return q.qsize()


def _rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class BenchManager(BaseManager):
    pass


BenchManager.register("get_queue", callable=_named(_queues, queue.Queue))
BenchManager.register("get_dict", callable=_named(_dicts, dict), proxytype=DictProxy)
BenchManager.register("get_list", callable=_named(_lists, list), proxytype=ListProxy)
BenchManager.register("get_lock", callable=_named(_locks, threading.Lock), proxytype=AcquirerProxy)
BenchManager.register("get_value", callable=_named(_values, lambda: Value("q", 0)), proxytype=ValueProxy)
BenchManager.register("get_event", callable=_named(_events, threading.Event), proxytype=EventProxy)
BenchManager.register("preload", callable=_preload)
BenchManager.register("rss", callable=_rss)


def serve(address):
    m = BenchManager(address=address, authkey=AUTHKEY)
    server = m.get_server()
    notify = os.environ.get("NOTIFY_SOCKET")
    if notify:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"READY=1", notify)
        s.close()
    server.serve_forever()


# ---- client side ------------------------------------------------------------


def connect(address):
    m = BenchManager(address=address, authkey=AUTHKEY)
    m.connect()
    return m


def w_queue_1c(a, size, name="q"):
    q = connect(a.address).get_queue(name)
    v = b"x" * size
    return bc.result(*bc.timed_loop(a.n, [lambda: q.put(v), q.get]))


def w_dict(a, size):
    d = connect(a.address).get_dict("d")
    v = b"x" * size
    return bc.result(*bc.timed_loop(a.n, [lambda: d.__setitem__("k", v), lambda: d["k"]]))


def w_lock(a, size):
    lk = connect(a.address).get_lock("lk")
    return bc.result(*bc.timed_loop(a.n, [lk.acquire, lk.release]))


def w_list(a, size):
    lst = connect(a.address).get_list("l%d" % size)
    v = b"x" * size
    return bc.result(*bc.timed_loop(a.n, [lambda: lst.append(v)]))


def w_paced(a, size):
    q = connect(a.address).get_queue("qpaced")
    v = b"x" * size
    return bc.paced(a.n, [lambda: q.put(v), q.get])


def _open_event(address):
    ev = connect(address).get_event("ev")
    return ev.wait, ev.set, ev.clear


def w_event(a, size):
    return bc.event_wake(a, _open_event)


def w_batch(a, size):
    # The Manager has no put_many: a batch of 1,000 is 1,000 calls.
    q = connect(a.address).get_queue("batch")
    v = b"x" * size
    lat = []
    t0 = bc.start_clock()
    for _ in range(a.n):
        s = time.perf_counter_ns()
        for _ in range(1000):
            q.put(v)
        lat.append(time.perf_counter_ns() - s)
        s = time.perf_counter_ns()
        for _ in range(1000):
            q.get()
        lat.append(time.perf_counter_ns() - s)
    return bc.result(2000 * a.n, time.perf_counter() - t0, lat)


def _open_q50(address):
    q = connect(address).get_queue("q50")
    return q.put, q.get


def w_queue_50c(a, size):
    return bc.queue_50c(a, size, _open_q50)


def _open_counter(address):
    m = connect(address)
    d, lock = m.get_dict("counters"), m.get_lock("counters")

    def incr():
        with lock:  # read-modify-write under the Manager's Lock
            d["k"] = d.get("k", 0) + 1
    return incr


def w_incr_8p(a, size):
    return bc.incr_8p(a, _open_counter, lambda: connect(a.address).get_dict("counters").get("k"),
                      start_together=False)


# counter_incr_8p: the lesson's shared counter, made correct with a lock.
def _open_manager_value(address):
    m = connect(address)
    v, lock = m.get_value("counter"), m.get_lock("counter")

    def incr():
        with lock:  # the Manager's Value has no atomic add
            v.value = v.value + 1
    return incr


def w_counter_manager(a, size):
    return bc.incr_8p(a, _open_manager_value, lambda: connect(a.address).get_value("counter").value,
                      start_together=True)


_mp_value = None


def _open_mp_value(address):
    v = _mp_value

    def incr():
        with v.get_lock():
            v.value += 1
    return incr


def w_counter_mpvalue(a, size):
    global _mp_value
    _mp_value = mp.get_context("fork").Value("q", 0)   # inherited by the forked processes
    return bc.incr_8p(a, _open_mp_value, lambda: _mp_value.value, start_together=True)


# Neither the Manager's queues nor multiprocessing.Queue have put_many or
# get_many: one task, one result at a time.
def _put_each(tasks, n, workers):
    for i in range(n):
        tasks.put(i)
    for _ in range(workers):
        tasks.put(None)


def _get_each(results, n):
    total = 0
    for _ in range(n):
        total += results.get()
    return n, total


def w_taskqueue_manager(a, size):
    m = connect(a.address)
    return bc.taskqueue(m.get_queue("tq.tasks"), m.get_queue("tq.results"), a.n, _put_each, _get_each)


def w_taskqueue_mpqueue(a, size):
    ctx = mp.get_context("fork")
    return bc.taskqueue(ctx.Queue(), ctx.Queue(), a.n, _put_each, _get_each)


def _stream_producer(q, n, size):
    v = b"x" * size
    for _ in range(n):
        q.put(v)
    q.put(None)


def w_stream_mpqueue(a, size):
    q = mp.get_context("fork").Queue()

    def consume():
        got = 0
        while q.get() is not None:
            got += 1
        return got
    return bc.stream(a.n, _stream_producer, (q, a.n, size), consume)


def w_loaded(a, size):
    # The queue "loaded" holds --load items (mem_per_item_16B filled it).
    m = connect(a.address)
    m.preload("loaded", a.load, size, a.objects)
    return w_queue_1c(a, size, name="loaded")


def w_mem(a, size):
    # The server's RSS growth while n items go into the queue "loaded".
    m = connect(a.address)
    before = m.rss()._getvalue()
    m.preload("loaded", a.n, size, 0)
    after = m.rss()._getvalue()
    return {"bytes_per_item": (after - before) / a.n}


SYSTEMS = {
    # The Manager cannot pipeline: its "64 in flight" is its one-at-a-time loop.
    "manager": bc.workloads(queue_1c=w_queue_1c, queue_p64=w_queue_1c, queue_50c=w_queue_50c, dict=w_dict, lock=w_lock,
                            list=w_list, batch=w_batch, incr=w_incr_8p, taskqueue=w_taskqueue_manager,
                            loaded=w_loaded, mem=w_mem, counter=w_counter_manager, paced=w_paced, event=w_event),
    "mpqueue": bc.workloads(taskqueue=w_taskqueue_mpqueue, stream=w_stream_mpqueue),
    "mpvalue": bc.workloads(counter=w_counter_mpvalue),
}


if __name__ == "__main__":
    sys.exit(bc.main(sys.argv[1:], "peer_manager.py", SYSTEMS, serve=serve))
