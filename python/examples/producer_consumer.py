#!/usr/bin/python3
"""The lesson's producer/consumer, on ipcd: only the Queue constructor changed.

Run an ipcd first (build/daemon/ipcd), then: python3 producer_consumer.py
The queue lives in the daemon, so an unrelated process could also consume
from "demo.jobs" by name.
"""
from multiprocessing import Process

import ipcd


def producer(queue):
    for i in range(5):
        queue.put(i)
    queue.put(None)  # signal completion


def consumer(queue):
    while True:
        item = queue.get()
        if item is None:
            break
        print(f"Consumed: {item}")


if __name__ == "__main__":
    q = ipcd.Queue("demo.jobs")  # was: multiprocessing.Queue()
    p1 = Process(target=producer, args=(q,))
    p2 = Process(target=consumer, args=(q,))
    p1.start(); p2.start()
    p1.join(); p2.join()
