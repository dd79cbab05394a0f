"""bench_common.py: what the Python peers of ipcd-bench (peer_manager.py,
peer_ipcd_py.py) share: per-call timing and percentiles, the one JSON line,
the multi-process drivers of the workloads (50 clients, 8 incrementing
processes, 4 task workers, a producer process) and the "run" command line.

Not a script: each peer imports it from its own directory (BENCH_PEER_DIR),
so it goes wherever the peers go. A peer supplies what differs, the calls
on its system, and the drivers fork the processes, start the clock and
check the results the same way for every system.
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import threading
import time

# ---- server_cpu_us: the server's CPU time over the timed part, per request ----

_server_pid = 0   # --server-pid: the server process, 0 where the system has none
_cpu0 = None      # its CPU time (ns) at start_clock()


def _server_cpu_ns():
    """The server's CPU time (user + system, all threads) in ns, or None.
    Its process CPU clock is the id clock_getcpuclockid(3) gives (Linux's
    encoding: (~pid << 3) | CPUCLOCK_SCHED); /proc/PID/stat's utime + stime,
    in clock ticks, where that fails."""
    if not _server_pid:
        return None
    try:
        return time.clock_gettime_ns((~_server_pid << 3) | 2)
    except OSError:
        pass
    try:
        with open("/proc/%d/stat" % _server_pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 10**9 // os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def start_clock():
    """The start of a workload's timed part: perf_counter(), and the
    server's CPU time for result() and throughput()."""
    global _cpu0
    _cpu0 = _server_cpu_ns()
    return time.perf_counter()


def _with_server_cpu(row, ops):
    end = _server_cpu_ns()
    if _cpu0 is not None and end is not None and ops:
        row["server_cpu_us"] = (end - _cpu0) / 1e3 / ops
    return row


def percentile(samples, p):
    if not samples:
        return 0.0
    samples.sort()
    return samples[min(len(samples) - 1, int(len(samples) * p))] / 1000.0


def result(ops, seconds, lat):
    return _with_server_cpu({"ops_per_s": ops / seconds, "p50_us": percentile(lat, 0.50),
                             "p99_us": percentile(lat, 0.99)}, ops)


def throughput(ops, seconds):
    # Latency means nothing where many calls overlap: the row has none.
    return _with_server_cpu({"ops_per_s": ops / seconds, "p50_us": 0, "p99_us": 0}, ops)


def timed_loop(n, calls):
    """Run n rounds of calls (a list of zero-argument functions); per-call
    latencies in ns."""
    lat = []
    clock = time.perf_counter_ns
    t0 = start_clock()
    for _ in range(n):
        for f in calls:
            a = clock()
            f()
            lat.append(clock() - a)
    return len(calls) * n, time.perf_counter() - t0, lat


def gather(ps, out):
    """Each of the processes ps puts one list of latencies on out: all of
    them, once every process has sent its list."""
    lat = []
    for _ in ps:
        lat.extend(out.get())
    return lat


# ---- paced_5k: requests to a schedule --------------------------------------------

PACED_RATE = 5000  # requests per second, as bench.c's


def paced(n, calls):
    """n requests, the calls (zero-argument functions) in turn, to a schedule
    of PACED_RATE a second: request k is due k / PACED_RATE seconds after the
    start (a late one goes at once; the schedule does not move)."""
    lat = []
    clock = time.perf_counter_ns
    t0 = start_clock()
    base = clock()
    for k in range(n):
        wait = base + k * (10**9 // PACED_RATE) - clock()
        if wait > 0:
            time.sleep(wait / 1e9)
        a = clock()
        calls[k % len(calls)]()
        lat.append(clock() - a)
    return result(n, time.perf_counter() - t0, lat)


# ---- event_wait_wake: the time from a set to the waiter's wake ------------------

EVENT_PAUSE = 0.001  # between the waiter's wait and the set (bench.c's EVENT_PAUSE_NS)


def _event_waiter(open_event, address, n, state, out):
    wait, _, clear = open_event(address)
    lat = []
    for k in range(n):
        clear()
        state[0] = k + 1  # waiting in round k
        if not wait(10):
            sys.exit("event_wait_wake: the wait timed out")
        lat.append(time.monotonic_ns() - state[1])
    out.put(lat)


def event_wake(a, open_event):
    """One process waits on an event, this one sets it once the wait has
    been sent and a pause has passed; latency: set sent -> waiter awake.
    open_event(address) connects and returns the event's wait(timeout),
    set() and clear(). Three requests a round."""
    ctx = mp.get_context("fork")
    state, out = ctx.RawArray("Q", 2), ctx.Queue()  # [rounds waiting, set time in ns]
    _, set_, _ = open_event(a.address)
    p = ctx.Process(target=_event_waiter, args=(open_event, a.address, a.n, state, out))
    t0 = start_clock()
    p.start()
    for k in range(a.n):
        while state[0] != k + 1:
            os.sched_yield()
        time.sleep(EVENT_PAUSE)
        state[1] = time.monotonic_ns()
        set_()
    lat = out.get()
    elapsed = time.perf_counter() - t0
    p.join()
    if p.exitcode != 0:
        sys.exit("event_wait_wake: the waiter failed")
    return result(3 * a.n, elapsed, lat)


# ---- *_50c: 50 clients --------------------------------------------------------


def _client_thread(open_queue, address, n, v, lat, start):
    put, get = open_queue(address)  # a connection of its own
    start.wait()  # every connection is open
    start.wait()  # go
    clock = time.perf_counter_ns
    for _ in range(n):
        s = clock()
        put(v)
        m = clock()
        get()
        e = clock()
        lat.append(m - s)
        lat.append(e - m)


def _client_proc(open_queue, address, threads, n, size, ready, go, out):
    v = b"x" * size
    lats = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    ts = [threading.Thread(target=_client_thread, args=(open_queue, address, n, v, lats[i], start))
          for i in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    ready.put(1)
    go.get()
    start.wait()
    for t in ts:
        t.join()
    out.put([x for lat in lats for x in lat])


def queue_50c(a, size, open_queue):
    """50 connections: 2 processes (one per core) of 25 threads each, every
    thread with its own connection and one request in flight.
    open_queue(address) opens a thread's connection, and returns its queue's
    put(v) and get() (non-blocking where the system has the choice)."""
    procs, per = 2, 25
    n = max(1, a.n // 50)
    ctx = mp.get_context("fork")
    ready, out = ctx.Queue(), ctx.Queue()
    gos = [ctx.Queue() for _ in range(procs)]
    ps = [ctx.Process(target=_client_proc, args=(open_queue, a.address, per, n, size, ready, gos[i], out))
          for i in range(procs)]
    for p in ps:
        p.start()
    for _ in ps:
        ready.get()  # all 50 connections are open before the clock starts
    t0 = start_clock()
    for g in gos:
        g.put("go")
    lat = gather(ps, out)
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    return result(len(lat), elapsed, lat)


# ---- incr_8p: 8 processes on one counter --------------------------------------


def _incr_proc(open_counter, address, n, go, out):
    incr = open_counter(address)
    if go is not None:
        go.wait()
    lat = []
    clock = time.perf_counter_ns
    for _ in range(n):
        s = clock()
        incr()
        lat.append(clock() - s)
    out.put(lat)


def incr_8p(a, open_counter, read_total, start_together):
    """8 processes, each with its own connection, add 1 to the counter n/8
    times; the total must come out exact. open_counter(address) connects and
    returns the increment, read_total() reads the counter afterwards. With
    start_together the processes connect first and the clock starts at a
    signal; without, the clock also counts starting them (the Manager's row
    has always been measured so)."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    go = ctx.Event() if start_together else None
    n = max(1, a.n // 8)
    ps = [ctx.Process(target=_incr_proc, args=(open_counter, a.address, n, go, out)) for _ in range(8)]
    t0 = start_clock()
    for p in ps:
        p.start()
    if go is not None:
        t0 = start_clock()
        go.set()
    lat = gather(ps, out)
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    total = read_total()
    if total != 8 * n:
        sys.exit("incr_8p: lost updates: %r != %d" % (total, 8 * n))
    return result(8 * n, elapsed, lat)


# ---- taskqueue_4w: 4 workers; stream_16B: a producer process ------------------


def _tq_worker(tasks, results):
    # The proxies came through fork; ipcd's make a connection of their own.
    while True:
        x = tasks.get()
        if x is None:
            break
        results.put(x * x)


def taskqueue(tasks, results, n, put_tasks, get_results, workers=4):
    """workers processes get a task (an int) at a time from tasks and put its
    square on results. put_tasks(tasks, n, workers) sends 0..n-1, then one
    None per worker; get_results(results, n) collects the n squares and
    returns how many it got and their sum."""
    ctx = mp.get_context("fork")
    ps = [ctx.Process(target=_tq_worker, args=(tasks, results)) for _ in range(workers)]
    t0 = start_clock()
    for p in ps:
        p.start()
    put_tasks(tasks, n, workers)
    got, total = get_results(results, n)
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    if got != n or total != sum(i * i for i in range(n)):
        sys.exit("taskqueue: wrong results")
    return throughput(n, elapsed)


def stream(n, producer, args, consume):
    """producer(*args) sends n items from a process of its own while
    consume() takes them in this one and says how many it got."""
    ctx = mp.get_context("fork")
    p = ctx.Process(target=producer, args=args)
    t0 = start_clock()
    p.start()
    got = consume()
    elapsed = time.perf_counter() - t0
    p.join()
    if p.exitcode != 0:
        sys.exit("stream: the producer failed")
    if got != n:
        sys.exit("stream: lost items")
    # put and get of each item: two ops, as for the other systems
    return throughput(2 * n, elapsed)


# ---- the workloads and the command line -----------------------------------------

# ipcd-bench's workloads: name -> (kind, item size). The names and sizes are
# the C drivers' (bench.c), the same for every peer; a peer has a function
# per kind it runs.
WORKLOADS = {
    "queue_put_get_16B_1c": ("queue_1c", 16),
    "queue_put_get_4K_1c": ("queue_1c", 4096),
    "queue_put_get_16B_p64": ("queue_p64", 16),
    "queue_put_get_4K_p64": ("queue_p64", 4096),
    "queue_put_get_16B_50c": ("queue_50c", 16),
    "queue_put_get_4K_50c": ("queue_50c", 4096),
    "dict_set_get_16B_1c": ("dict", 16),
    "dict_set_get_4K_1c": ("dict", 4096),
    "lock_acquire_release_1c": ("lock", 0),
    "list_append_16B_1c": ("list", 16),
    "list_append_4K_1c": ("list", 4096),
    "queue_batch_16B": ("batch", 16),
    "incr_8p": ("incr", 8),
    "counter_incr_8p": ("counter", 8),
    "taskqueue_4w": ("taskqueue", 8),
    "stream_16B": ("stream", 16),
    "queue_put_get_16B_1c_loaded": ("loaded", 16),
    "mem_per_item_16B": ("mem", 16),
    "paced_5k": ("paced", 16),
    "event_wait_wake": ("event", 0),
}


def workloads(**kinds):
    """A system's workloads, from its functions by kind (fn(args, size)):
    workload name -> function of the parsed arguments."""
    return {name: (lambda a, fn=kinds[kind], size=size: fn(a, size))
            for name, (kind, size) in WORKLOADS.items() if kind in kinds}



def main(argv, prog, workloads, serve=None, address_required=False):
    """The peers' command line (see peer_manager.py). workloads: system ->
    workload name -> function of the parsed arguments, returning the JSON
    line's dict. serve(address), if given, is the "serve" command."""
    p = argparse.ArgumentParser(prog=prog)
    sub = p.add_subparsers(dest="cmd", required=True)
    if serve is not None:
        s = sub.add_parser("serve")
        s.add_argument("address")
    r = sub.add_parser("run")
    r.add_argument("system")
    r.add_argument("workload")
    r.add_argument("--address", required=address_required)
    r.add_argument("--n", type=int, default=10000)
    r.add_argument("--load", type=int, default=1000000)
    r.add_argument("--objects", type=int, default=100000)
    r.add_argument("--server-pid", type=int, default=0)
    a = p.parse_args(argv)
    if a.cmd == "serve":
        serve(a.address)
        return 0
    global _server_pid
    _server_pid = a.server_pid
    fn = workloads.get(a.system, {}).get(a.workload)
    if fn is None:
        return 3  # ipcd-bench prints no row for it
    print(json.dumps(fn(a)), flush=True)
    return 0
