#!/usr/bin/python3
"""The lesson's task-queue pattern, on ipcd: four workers square numbers
taken from one named queue and put the results on another.

Run an ipcd first (build/daemon/ipcd), then: python3 task_queue.py [N]
"""
import sys
from multiprocessing import Process

import ipcd


def worker(task_queue, result_queue):
    while True:
        task = task_queue.get()
        if task is None:
            break
        result = task ** 2  # computation
        result_queue.put(result)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    tasks = ipcd.Queue("demo.tasks")      # was: multiprocessing.Queue()
    results = ipcd.Queue("demo.results")  # was: multiprocessing.Queue()

    # Start workers
    workers = [Process(target=worker, args=(tasks, results)) for _ in range(4)]
    for w in workers:
        w.start()

    # Submit tasks (put_many: one round trip for them all)
    tasks.put_many(range(n))

    # Signal workers to stop
    for _ in workers:
        tasks.put(None)

    # Collect results
    output = [results.get() for _ in range(n)]

    for w in workers:
        w.join()
    print(f"{len(output)} results, sum {sum(output)}")
