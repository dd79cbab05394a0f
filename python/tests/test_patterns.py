"""The lesson's multiprocessing patterns with ipcd proxies and
multiprocessing.Process workers (fork, the Linux default; one with spawn)."""
import multiprocessing
import os
from collections import Counter

import ipcd

JOIN_TIMEOUT = 60


def join_all(procs):
    for p in procs:
        p.join(JOIN_TIMEOUT)
    for p in procs:
        if p.is_alive():
            p.kill()  # only our own children
            p.join(5)
            raise AssertionError("worker %d did not finish in %d s" % (p.pid, JOIN_TIMEOUT))
        assert p.exitcode == 0, "worker %d exited with %r" % (p.pid, p.exitcode)


def producer(q):
    for i in range(5):
        q.put(i)
    q.put(None)  # signal completion


def consumer(q, out):
    while True:
        item = q.get(timeout=30)
        if item is None:
            break
        out.append(item)


def test_producer_consumer_with_sentinel(client, name):
    q, out = ipcd.Queue(name + ".q"), ipcd.List(name + ".out")
    p1 = multiprocessing.Process(target=producer, args=(q,))
    p2 = multiprocessing.Process(target=consumer, args=(q, out))
    p1.start()
    p2.start()
    join_all([p1, p2])
    assert out[:] == [0, 1, 2, 3, 4]
    assert q.qsize() == 0


def worker(task_queue, result_queue):
    while True:
        task = task_queue.get(timeout=60)
        if task is None:
            break
        result_queue.put(task ** 2)


def test_task_queue_four_workers_exact_multiset(client, name):
    n = 100_000
    tasks, results = ipcd.Queue(name + ".tasks"), ipcd.Queue(name + ".results")
    workers = [multiprocessing.Process(target=worker, args=(tasks, results)) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        for i in range(0, n, 1000):
            tasks.put_many(range(i, min(i + 1000, n)))
        tasks.put_many([None] * len(workers))
        output = []
        while len(output) < n:
            output.extend(results.get_many(n - len(output), timeout=60))
    finally:
        join_all(workers)
    assert Counter(output) == Counter(i * i for i in range(n))
    assert results.qsize() == 0 and tasks.qsize() == 0


def incrementer(d, times):
    for _ in range(times):
        d.incr("hits")


def test_eight_processes_incr(client, name):
    d = ipcd.Dict(name)
    procs = [multiprocessing.Process(target=incrementer, args=(d, 10_000)) for _ in range(8)]
    for p in procs:
        p.start()
    join_all(procs)
    assert d["hits"] == 80_000


def forked_child(q, parent_conn_fd_inode):
    c = ipcd.default_client()
    info = c.info()  # uses the connection: it must be the child's own
    me = os.fstat(c._conn().sock.fileno()).st_ino
    q.put({"pid": os.getpid(), "own": me != parent_conn_fd_inode,
           "clients_total": info["clients_total"]})


def test_forked_child_uses_its_own_connection(client, name):
    client.ping()  # the parent's connection is open
    before = client.info()["clients_total"]
    parent_ino = os.fstat(client._conn().sock.fileno()).st_ino
    q = ipcd.Queue(name)
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=forked_child, args=(q, parent_ino))
    p.start()
    join_all([p])
    got = q.get(timeout=10)
    assert got["pid"] == p.pid and got["own"] is True
    assert got["clients_total"] > before  # a new connection was made
    # the parent's connection is still in step
    assert client.ping("after") == "after"
    assert os.fstat(client._conn().sock.fileno()).st_ino == parent_ino


def test_fork_without_multiprocessing_interleaves_cleanly(client, name):
    """Parent and child hammer the same inherited client at once: each gets
    exactly its own replies."""
    client.ping()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for i in range(2000):
                assert client.ping(["child", i]) == ["child", i]
            ipcd.Dict(name)["child"] = "ok"
            code = 0
        finally:
            os._exit(code)
    try:
        for i in range(2000):
            assert client.ping(["parent", i]) == ["parent", i]
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert ipcd.Dict(name)["child"] == "ok"


def spawned_put(q):
    q.put(("spawned", os.getpid()))


def test_proxies_pickle_for_spawn(client, name):
    q = ipcd.Queue(name)
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=spawned_put, args=(q,))
    p.start()
    join_all([p])
    assert q.get(timeout=10) == ["spawned", p.pid]
