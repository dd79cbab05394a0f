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
  - paced_5k: put/get_nowait at 5,000 requests/s to a schedule.
  - event_wait_wake: ipcd.Event, a waiting process and a setting one.
Not run: mem_per_item_16B (the daemon's memory, the same whatever the
client; the ipcd row measures it).
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, HERE)  # bench_common.py, beside this

import bench_common as bc  # noqa: E402
import ipcd  # noqa: E402

SYSTEM = "ipcd-py"
PREFIX = "py."  # object names, apart from the C rows' on the same daemon


def w_queue_1c(a, size, name=PREFIX + "q1"):
    q = ipcd.Queue(name, client=ipcd.connect(a.address))
    v = b"x" * size
    return bc.result(*bc.timed_loop(a.n, [lambda: q.put(v), q.get_nowait]))


def w_queue_p64(a, size):
    c = ipcd.connect(a.address)
    name, v = PREFIX + "qp", b"x" * size
    calls = [("queue.put", (name, v, 0)), ("queue.get", (name, 0))] * 32
    rounds = max(1, a.n // 32)  # a.n put/get pairs, 32 per pipeline
    lat = []
    clock = time.perf_counter_ns
    t0 = bc.start_clock()
    for _ in range(rounds):
        s = clock()
        c.pipeline(calls)
        lat.append(clock() - s)
    return bc.result(64 * rounds, time.perf_counter() - t0, lat)


def w_dict(a, size):
    d = ipcd.Dict(PREFIX + ("d16" if size == 16 else "d4k"), client=ipcd.connect(a.address))
    v = b"x" * size
    return bc.result(*bc.timed_loop(a.n, [lambda: d.__setitem__("k", v), lambda: d["k"]]))


def w_list(a, size):
    lst = ipcd.List(PREFIX + ("l16" if size == 16 else "l4k"), client=ipcd.connect(a.address))
    v = b"x" * size
    return bc.result(*bc.timed_loop(a.n, [lambda: lst.append(v)]))


def w_batch(a, size):
    q = ipcd.Queue(PREFIX + "qb", client=ipcd.connect(a.address))
    items = [b"x" * size] * 1000
    lat = []
    clock = time.perf_counter_ns
    t0 = bc.start_clock()
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
    return bc.result(2000 * a.n, time.perf_counter() - t0, lat)


def w_paced(a, size):
    q = ipcd.Queue(PREFIX + "qpaced", client=ipcd.connect(a.address))
    v = b"x" * size
    return bc.paced(a.n, [lambda: q.put(v), q.get_nowait])


def _open_event(address):
    ev = ipcd.Event(PREFIX + "ev", client=ipcd.Client(address))  # a connection of its own
    return ev.wait, ev.set, ev.clear


def w_event(a, size):
    return bc.event_wake(a, _open_event)


def _open_q50(address):
    q = ipcd.Queue(PREFIX + "q50", client=ipcd.Client(address))  # a connection of its own
    q.qsize()  # opened before the clock starts
    return q.put, q.get_nowait


def w_queue_50c(a, size):
    return bc.queue_50c(a, size, _open_q50)


def _open_counter(address):
    d = ipcd.Dict(PREFIX + "counters", client=ipcd.connect(address))
    d.client.ping()  # connected before the start
    return lambda: d.incr("k")


def w_incr_8p(a, size):
    counters = ipcd.Dict(PREFIX + "counters", client=ipcd.connect(a.address))
    counters.pop("k", None)
    return bc.incr_8p(a, _open_counter, lambda: counters["k"], start_together=True)


# The workers (bench_common's) get and put one at a time, through the
# ipcd.Queue proxies they inherit; the parent sends and collects in batches.
def _put_batches(tasks, n, workers):
    for base in range(0, n, 1000):
        tasks.put_many(range(base, min(n, base + 1000)))
    tasks.put_many([None] * workers)


def _get_batches(results, n):
    total = got = 0
    while got < n:
        batch = results.get_many(1000)
        got += len(batch)
        total += sum(batch)
    return got, total


def w_taskqueue(a, size):
    c = ipcd.connect(a.address)
    tasks, results = ipcd.Queue(PREFIX + "tq.tasks", client=c), ipcd.Queue(PREFIX + "tq.results", client=c)
    return bc.taskqueue(tasks, results, a.n, _put_batches, _get_batches)


def _stream_producer(address, n, size):
    q = ipcd.Queue(PREFIX + "stream", client=ipcd.connect(address))
    items = [b"x" * size] * 1000
    for sent in range(0, n, 1000):
        q.put_many(items if n - sent >= 1000 else items[:n - sent])


def w_stream(a, size):
    q = ipcd.Queue(PREFIX + "stream", client=ipcd.connect(a.address))

    def consume():
        got = 0
        while got < a.n:
            got += len(q.get_many(1000))
        return got
    return bc.stream(a.n, _stream_producer, (a.address, a.n, size), consume)


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


# Every workload but mem_per_item_16B (see above).
WORKLOADS = bc.workloads(queue_1c=w_queue_1c, queue_p64=w_queue_p64, queue_50c=w_queue_50c, dict=w_dict,
                         list=w_list, batch=w_batch, incr=w_incr_8p, taskqueue=w_taskqueue, stream=w_stream,
                         loaded=w_loaded, paced=w_paced, event=w_event)


if __name__ == "__main__":
    sys.exit(bc.main(sys.argv[1:], "peer_ipcd_py.py", {SYSTEM: WORKLOADS}, address_required=True))
