"""sync_peer: a separate process that makes ipcd requests in order, for the
tests of the synchronisation types (a process to kill, or to wait in line).

  sync_peer.py SOCKET JSON [hold]

runs each [op, args...] of the JSON array in turn on one connection and
prints one JSON line per reply, [status, result, monotonic time], as soon as
it comes. With "hold" it then keeps the connection open until its stdin
closes (the test kills it or closes the pipe). Every socket wait is bounded
(ipcwire's timeout).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ipcwire import Client  # noqa: E402


def main(sock, ops, hold=None):
    c = Client(sock, name="sync-peer", timeout=60)
    for op, *args in json.loads(ops):
        r = c.call(op, *args)
        print(json.dumps([r.status, r.result, time.monotonic()], default=repr), flush=True)
    if hold == "hold":
        sys.stdin.read()


if __name__ == "__main__":
    main(*sys.argv[1:])
