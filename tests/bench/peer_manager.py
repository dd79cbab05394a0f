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
      ADDRESS; "mpqueue": a plain multiprocessing.Queue, no server) and print
      one line of JSON: {"ops_per_s": N, "p50_us": N, "p99_us": N}, or
      {"bytes_per_item": N} for memory. Exit status 3: SYSTEM does not run
      WORKLOAD (ipcd-bench then prints no row for it).

This is the protocol every Python peer of ipcd-bench follows: another system
is added as another script with the same "run" command line and output.
Latencies are per call, in microseconds; ops count requests (a put and a get
are two, a batch of 1,000 items is 1,000).
"""
import json
import multiprocessing as mp
import os
import queue
import socket
import sys
import threading
import time
from multiprocessing.managers import AcquirerProxy, BaseManager, DictProxy, ListProxy

AUTHKEY = b"ipcd-bench"

# ---- server ---------------------------------------------------------------

_queues, _dicts, _lists, _locks = {}, {}, {}, {}
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


def percentile(samples, p):
    if not samples:
        return 0.0
    samples.sort()
    return samples[min(len(samples) - 1, int(len(samples) * p))] / 1000.0


def result(ops, seconds, lat):
    return {"ops_per_s": ops / seconds, "p50_us": percentile(lat, 0.50), "p99_us": percentile(lat, 0.99)}


def timed_loop(n, calls):
    """Run n rounds of calls (a list of zero-argument functions); per-call
    latencies in ns."""
    lat = []
    clock = time.perf_counter_ns
    t0 = time.perf_counter()
    for _ in range(n):
        for f in calls:
            a = clock()
            f()
            lat.append(clock() - a)
    return len(calls) * n, time.perf_counter() - t0, lat


def w_queue_1c(a, size, name="q"):
    q = connect(a.address).get_queue(name)
    v = b"x" * size
    return result(*timed_loop(a.n, [lambda: q.put(v), q.get]))


def w_dict(a, size):
    d = connect(a.address).get_dict("d")
    v = b"x" * size
    return result(*timed_loop(a.n, [lambda: d.__setitem__("k", v), lambda: d["k"]]))


def w_list(a, size):
    lst = connect(a.address).get_list("l%d" % size)
    v = b"x" * size
    return result(*timed_loop(a.n, [lambda: lst.append(v)]))


def w_batch(a, size):
    # The Manager has no put_many: a batch of 1,000 is 1,000 calls.
    q = connect(a.address).get_queue("batch")
    v = b"x" * size
    lat = []
    t0 = time.perf_counter()
    for _ in range(a.n):
        s = time.perf_counter_ns()
        for _ in range(1000):
            q.put(v)
        lat.append(time.perf_counter_ns() - s)
        s = time.perf_counter_ns()
        for _ in range(1000):
            q.get()
        lat.append(time.perf_counter_ns() - s)
    return result(2000 * a.n, time.perf_counter() - t0, lat)


def _client_thread(address, n, v, lat, start):
    q = connect(address).get_queue("q50")
    start.wait()  # every connection is open
    start.wait()  # go
    clock = time.perf_counter_ns
    for _ in range(n):
        s = clock()
        q.put(v)
        m = clock()
        q.get()
        e = clock()
        lat.append(m - s)
        lat.append(e - m)


def _client_proc(address, threads, n, size, ready, go, out):
    v = b"x" * size
    lats = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    ts = [threading.Thread(target=_client_thread, args=(address, n, v, lats[i], start)) for i in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    ready.put(1)
    go.get()
    start.wait()
    for t in ts:
        t.join()
    out.put([x for lat in lats for x in lat])


def w_queue_50c(a, size):
    # 50 connections: 2 processes (one per core) of 25 threads each, every
    # thread with its own connection and one request in flight.
    procs, per = 2, 25
    n = max(1, a.n // 50)
    ctx = mp.get_context("fork")
    ready, out = ctx.Queue(), ctx.Queue()
    gos = [ctx.Queue() for _ in range(procs)]
    ps = [ctx.Process(target=_client_proc, args=(a.address, per, n, size, ready, gos[i], out)) for i in range(procs)]
    for p in ps:
        p.start()
    for _ in ps:
        ready.get()  # all 50 connections are open before the clock starts
    t0 = time.perf_counter()
    for g in gos:
        g.put("go")
    lat = []
    for _ in ps:
        lat.extend(out.get())
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    return result(len(lat), elapsed, lat)


def _incr_proc(address, n, out):
    m = connect(address)
    d, lock = m.get_dict("counters"), m.get_lock("counters")
    lat = []
    clock = time.perf_counter_ns
    for _ in range(n):
        s = clock()
        with lock:  # read-modify-write under the Manager's Lock
            d["k"] = d.get("k", 0) + 1
        lat.append(clock() - s)
    out.put(lat)


def w_incr_8p(a, size):
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    n = max(1, a.n // 8)
    t0 = time.perf_counter()
    ps = [ctx.Process(target=_incr_proc, args=(a.address, n, out)) for _ in range(8)]
    for p in ps:
        p.start()
    lat = []
    for _ in ps:
        lat.extend(out.get())
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    total = connect(a.address).get_dict("counters").get("k")
    if total != 8 * n:
        sys.exit("incr_8p: lost updates: %r != %d" % (total, 8 * n))
    return result(8 * n, elapsed, lat)


def _tq_worker(tasks, results):
    while True:
        x = tasks.get()
        if x is None:
            break
        results.put(x * x)


def taskqueue(tasks, results, n, workers=4):
    ctx = mp.get_context("fork")
    ps = [ctx.Process(target=_tq_worker, args=(tasks, results)) for _ in range(workers)]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    for i in range(n):
        tasks.put(i)
    for _ in ps:
        tasks.put(None)
    total = 0
    for _ in range(n):
        total += results.get()
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    if total != sum(i * i for i in range(n)):
        sys.exit("taskqueue: wrong sum")
    return {"ops_per_s": n / elapsed, "p50_us": 0, "p99_us": 0}


def w_taskqueue_manager(a, size):
    m = connect(a.address)
    return taskqueue(m.get_queue("tq.tasks"), m.get_queue("tq.results"), a.n)


def w_taskqueue_mpqueue(a, size):
    ctx = mp.get_context("fork")
    return taskqueue(ctx.Queue(), ctx.Queue(), a.n)


def _stream_producer(q, n, size):
    v = b"x" * size
    for _ in range(n):
        q.put(v)
    q.put(None)


def w_stream_mpqueue(a, size):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_stream_producer, args=(q, a.n, size))
    t0 = time.perf_counter()
    p.start()
    got = 0
    while q.get() is not None:
        got += 1
    elapsed = time.perf_counter() - t0
    p.join()
    if got != a.n:
        sys.exit("stream: lost items")
    # put and get of each item: two ops, as for the other systems
    return {"ops_per_s": 2 * a.n / elapsed, "p50_us": 0, "p99_us": 0}


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


WORKLOADS = {
    "manager": {
        "queue_put_get_16B_1c": lambda a: w_queue_1c(a, 16),
        "queue_put_get_4K_1c": lambda a: w_queue_1c(a, 4096),
        # The Manager cannot pipeline: its "64 in flight" is its one-at-a-time loop.
        "queue_put_get_16B_p64": lambda a: w_queue_1c(a, 16),
        "queue_put_get_4K_p64": lambda a: w_queue_1c(a, 4096),
        "queue_put_get_16B_50c": lambda a: w_queue_50c(a, 16),
        "queue_put_get_4K_50c": lambda a: w_queue_50c(a, 4096),
        "dict_set_get_16B_1c": lambda a: w_dict(a, 16),
        "dict_set_get_4K_1c": lambda a: w_dict(a, 4096),
        "list_append_16B_1c": lambda a: w_list(a, 16),
        "list_append_4K_1c": lambda a: w_list(a, 4096),
        "queue_batch_16B": lambda a: w_batch(a, 16),
        "incr_8p": lambda a: w_incr_8p(a, 8),
        "taskqueue_4w": lambda a: w_taskqueue_manager(a, 8),
        "queue_put_get_16B_1c_loaded": lambda a: w_loaded(a, 16),
        "mem_per_item_16B": lambda a: w_mem(a, 16),
    },
    "mpqueue": {
        "taskqueue_4w": lambda a: w_taskqueue_mpqueue(a, 8),
        "stream_16B": lambda a: w_stream_mpqueue(a, 16),
    },
}


def main(argv):
    import argparse
    p = argparse.ArgumentParser(prog="peer_manager.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("address")
    r = sub.add_parser("run")
    r.add_argument("system")
    r.add_argument("workload")
    r.add_argument("--address")
    r.add_argument("--n", type=int, default=10000)
    r.add_argument("--load", type=int, default=1000000)
    r.add_argument("--objects", type=int, default=100000)
    a = p.parse_args(argv)
    if a.cmd == "serve":
        serve(a.address)
        return 0
    fn = WORKLOADS.get(a.system, {}).get(a.workload)
    if fn is None:
        return 3
    print(json.dumps(fn(a)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
