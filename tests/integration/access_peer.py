"""access_peer: run ipcd requests as whatever uid this process has.

test_access.py starts it under setpriv as another user:
  access_peer.py SOCKET ops JSON      each [op, args...] of the JSON array in
                                      turn; prints [[status, result], ...]
  access_peer.py SOCKET monitor NAME  monitor; prints "ready" once attached,
                                      then the names of the events seen up to
                                      the first about NAME, as a JSON array
Every socket wait is bounded (ipcwire's timeout).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ipcwire import Client  # noqa: E402


def main(sock, mode, arg):
    c = Client(sock, name="peer")
    if mode == "ops":
        out = []
        for op, *args in json.loads(arg):
            r = c.call(op, *args)
            out.append([r.status, r.result])
        print(json.dumps(out, default=repr))
        return
    r = c.call("monitor")
    assert r.status == 0 and r.result is True, (r.status, r.result)
    print("ready", flush=True)
    names = []
    while True:
        ev = c.recv().result
        names.append(ev["name"])
        if ev["name"] == arg:
            break
    print(json.dumps(names))


if __name__ == "__main__":
    main(*sys.argv[1:4])
