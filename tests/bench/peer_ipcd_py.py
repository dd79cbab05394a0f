#!/usr/bin/python3
"""peer_ipcd_py.py: the ipcd-py system of ipcd-bench: the benchmark's
workloads through the Python package `ipcd` (python/ in this source tree),
against the ipcd that ipcd-bench started, so that the comparison with the
Manager (peer_manager.py) is also Python against Python.

Run with Debian's /usr/bin/python3. One command, the Python peers' protocol
(see peer_manager.py):

  peer_ipcd_py.py run ipcd-py WORKLOAD --address SOCKET [--n N] [--load L] [--objects O]

prints one line of JSON, {"ops_per_s": N, "p50_us": N, "p99_us": N}; exit
status 3 for a workload it does not run. ipcd-bench gives it the C drivers'
counts (--n is rounds, as for the Manager), not the Manager's smaller ones.

The workloads are written as a user of the package would write them:
  - *_1c, dict, list, loaded: one call at a time (put/get, d[k] = v / d[k],
    append), as the Manager peer does.
  - *_p64: Client.pipeline() of 64 requests (32 put/get pairs) per call:
    64 in flight, sent together and read together. Latency is that of the
    pipeline() call, one sample per call.
  - *_50c: 2 processes of 25 threads, each thread with its own Client.
  - queue_batch_16B: put_many of 1,000 items, then get_many(1000).
  - incr_8p: Dict.incr from 8 processes (no lock: incr is atomic).
  - taskqueue_4w: 4 multiprocessing workers get/put one task at a time
    through ipcd.Queue; the parent puts the tasks with put_many and collects
    the results with get_many, as ipcd's C row does.
  - stream_16B: one producer process with put_many of 1,000, one consumer
    with get_many(1000) (mpqueue is the row to compare with).
Not run: mem_per_item_16B (the daemon's memory, the same whatever the
client; the ipcd row measures it).
"""
import json
import multiprocessing as mp
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import ipcd  # noqa: E402

SYSTEM = "ipcd-py"
PREFIX = "py."  # object names, apart from the C rows' on the same daemon


def percentile(samples, p):
    if not samples:
        return 0.0
    samples.sort()
    return samples[min(len(samples) - 1, int(len(samples) * p))] / 1000.0


def result(ops, seconds, lat):
    return {"ops_per_s": ops / seconds, "p50_us": percentile(lat, 0.50), "p99_us": percentile(lat, 0.99)}


def timed_loop(n, calls):
    """n rounds of calls (zero-argument functions); per-call latencies in ns."""
    lat = []
    clock = time.perf_counter_ns
    t0 = time.perf_counter()
    for _ in range(n):
        for f in calls:
            a = clock()
            f()
            lat.append(clock() - a)
    return len(calls) * n, time.perf_counter() - t0, lat


def w_queue_1c(a, size, name=PREFIX + "q1"):
    q = ipcd.Queue(name, client=ipcd.connect(a.address))
    v = b"x" * size
    return result(*timed_loop(a.n, [lambda: q.put(v), q.get_nowait]))


def w_queue_p64(a, size):
    c = ipcd.connect(a.address)
    name, v = PREFIX + "qp", b"x" * size
    calls = [("queue.put", (name, v, 0)), ("queue.get", (name, 0))] * 32
    rounds = max(1, a.n // 32)  # a.n put/get pairs, 32 per pipeline
    lat = []
    clock = time.perf_counter_ns
    t0 = time.perf_counter()
    for _ in range(rounds):
        s = clock()
        c.pipeline(calls)
        lat.append(clock() - s)
    return result(64 * rounds, time.perf_counter() - t0, lat)


def w_dict(a, size):
    d = ipcd.Dict(PREFIX + ("d16" if size == 16 else "d4k"), client=ipcd.connect(a.address))
    v = b"x" * size
    return result(*timed_loop(a.n, [lambda: d.__setitem__("k", v), lambda: d["k"]]))


def w_list(a, size):
    lst = ipcd.List(PREFIX + ("l16" if size == 16 else "l4k"), client=ipcd.connect(a.address))
    v = b"x" * size
    return result(*timed_loop(a.n, [lambda: lst.append(v)]))


def w_batch(a, size):
    q = ipcd.Queue(PREFIX + "qb", client=ipcd.connect(a.address))
    items = [b"x" * size] * 1000
    lat = []
    clock = time.perf_counter_ns
    t0 = time.perf_counter()
    for _ in range(a.n):
        s = clock()
        q.put_many(items)
        m = clock()
        got = q.get_many(1000, block=False)
        e = clock()
        if len(got) != 1000:
            sys.exit("queue_batch_16B: get_many returned %d items" % len(got))
        lat.append(m - s)
        lat.append(e - m)
    return result(2000 * a.n, time.perf_counter() - t0, lat)


def _client_thread(address, n, v, lat, start):
    q = ipcd.Queue(PREFIX + "q50", client=ipcd.Client(address))  # a connection of its own
    q.qsize()  # opened before the clock starts
    start.wait()  # every connection is open
    start.wait()  # go
    clock = time.perf_counter_ns
    for _ in range(n):
        s = clock()
        q.put(v)
        m = clock()
        q.get_nowait()
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
    # 50 connections: 2 processes of 25 threads, as the Manager peer runs them.
    procs, per = 2, 25
    n = max(1, a.n // 50)
    ctx = mp.get_context("fork")
    ready, out = ctx.Queue(), ctx.Queue()
    gos = [ctx.Queue() for _ in range(procs)]
    ps = [ctx.Process(target=_client_proc, args=(a.address, per, n, size, ready, gos[i], out)) for i in range(procs)]
    for p in ps:
        p.start()
    for _ in ps:
        ready.get()
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


def _incr_proc(address, n, go, out):
    d = ipcd.Dict(PREFIX + "counters", client=ipcd.connect(address))
    d.client.ping()  # connected before the start
    go.wait()
    lat = []
    clock = time.perf_counter_ns
    for _ in range(n):
        s = clock()
        d.incr("k")
        lat.append(clock() - s)
    out.put(lat)


def w_incr_8p(a, size):
    ctx = mp.get_context("fork")
    out, go = ctx.Queue(), ctx.Event()
    n = max(1, a.n // 8)
    ipcd.Dict(PREFIX + "counters", client=ipcd.connect(a.address)).pop("k", None)
    ps = [ctx.Process(target=_incr_proc, args=(a.address, n, go, out)) for _ in range(8)]
    for p in ps:
        p.start()
    t0 = time.perf_counter()
    go.set()
    lat = []
    for _ in ps:
        lat.extend(out.get())
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    total = ipcd.Dict(PREFIX + "counters", client=ipcd.connect(a.address))["k"]
    if total != 8 * n:
        sys.exit("incr_8p: lost updates: %r != %d" % (total, 8 * n))
    return result(8 * n, elapsed, lat)


def _tq_worker(tasks, results):
    # The proxies came through fork; each process makes its own connection.
    while True:
        x = tasks.get()
        if x is None:
            break
        results.put(x * x)


def w_taskqueue(a, size):
    c = ipcd.connect(a.address)
    tasks, results = ipcd.Queue(PREFIX + "tq.tasks", client=c), ipcd.Queue(PREFIX + "tq.results", client=c)
    n, workers = a.n, 4
    ctx = mp.get_context("fork")
    ps = [ctx.Process(target=_tq_worker, args=(tasks, results)) for _ in range(workers)]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    for base in range(0, n, 1000):
        tasks.put_many(range(base, min(n, base + 1000)))
    tasks.put_many([None] * workers)
    total = got = 0
    while got < n:
        batch = results.get_many(1000)
        got += len(batch)
        total += sum(batch)
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    if got != n or total != sum(i * i for i in range(n)):
        sys.exit("taskqueue: wrong results")
    return {"ops_per_s": n / elapsed, "p50_us": 0, "p99_us": 0}


def _stream_producer(address, n, size):
    q = ipcd.Queue(PREFIX + "stream", client=ipcd.connect(address))
    items = [b"x" * size] * 1000
    for sent in range(0, n, 1000):
        q.put_many(items if n - sent >= 1000 else items[:n - sent])


def w_stream(a, size):
    q = ipcd.Queue(PREFIX + "stream", client=ipcd.connect(a.address))
    ctx = mp.get_context("fork")
    p = ctx.Process(target=_stream_producer, args=(a.address, a.n, size))
    t0 = time.perf_counter()
    p.start()
    got = 0
    while got < a.n:
        got += len(q.get_many(1000))
    elapsed = time.perf_counter() - t0
    p.join()
    if p.exitcode != 0:
        sys.exit("stream: the producer failed")
    return {"ops_per_s": 2 * a.n / elapsed, "p50_us": 0, "p99_us": 0}


def w_loaded(a, size):
    # The ipcd row has loaded the daemon already (the queue "loaded" and its
    # objects); top it up to --load items and --objects objects if not.
    c = ipcd.connect(a.address)
    q = ipcd.Queue("loaded", client=c)
    items = [b"x" * size] * 1000
    have = q.qsize()
    while have < a.load:
        q.put_many(items[:min(1000, a.load - have)])
        have = q.qsize()
    missing = a.objects - int(c.info().get("objects", 0))
    for base in range(0, max(0, missing), 256):
        c.pipeline([("dict.set", ("%sobj%d" % (PREFIX, i), "k", items[0]))
                    for i in range(base, min(missing, base + 256))])
    return w_queue_1c(a, size, name="loaded")


WORKLOADS = {
    "queue_put_get_16B_1c": lambda a: w_queue_1c(a, 16),
    "queue_put_get_4K_1c": lambda a: w_queue_1c(a, 4096),
    "queue_put_get_16B_p64": lambda a: w_queue_p64(a, 16),
    "queue_put_get_4K_p64": lambda a: w_queue_p64(a, 4096),
    "queue_put_get_16B_50c": lambda a: w_queue_50c(a, 16),
    "queue_put_get_4K_50c": lambda a: w_queue_50c(a, 4096),
    "dict_set_get_16B_1c": lambda a: w_dict(a, 16),
    "dict_set_get_4K_1c": lambda a: w_dict(a, 4096),
    "list_append_16B_1c": lambda a: w_list(a, 16),
    "list_append_4K_1c": lambda a: w_list(a, 4096),
    "queue_batch_16B": lambda a: w_batch(a, 16),
    "incr_8p": lambda a: w_incr_8p(a, 8),
    "taskqueue_4w": lambda a: w_taskqueue(a, 8),
    "stream_16B": lambda a: w_stream(a, 16),
    "queue_put_get_16B_1c_loaded": lambda a: w_loaded(a, 16),
}


def main(argv):
    import argparse
    p = argparse.ArgumentParser(prog="peer_ipcd_py.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("system")
    r.add_argument("workload")
    r.add_argument("--address", required=True)
    r.add_argument("--n", type=int, default=10000)
    r.add_argument("--load", type=int, default=1000000)
    r.add_argument("--objects", type=int, default=100000)
    a = p.parse_args(argv)
    fn = WORKLOADS.get(a.workload) if a.system == SYSTEM else None
    if fn is None:
        return 3
    print(json.dumps(fn(a)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
