"""access_peer: run ipcd requests as whatever uid this process has.

test_access.py starts it under setpriv as another user:
  access_peer.py SOCKET ops JSON      each [op, args...] of the JSON array in
                                      turn; prints [[status, result], ...]
  access_peer.py SOCKET map NAME      array.map NAME "rw", then "r": prints what
                                      each got and what the read-only
                                      descriptor allows (mmap for writing,
                                      mprotect of a read mapping to writable,
                                      opening it again for writing, write)
  access_peer.py SOCKET monitor NAME  monitor; prints "ready" once attached,
                                      then the names of the events seen up to
                                      the first about NAME, as a JSON array
Every socket wait is bounded (ipcwire's timeout).
"""
import ctypes
import json
import mmap
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ipcwire import Client  # noqa: E402


def main(sock, mode, arg):
    c = Client(sock, name="peer")
    if mode == "map":
        print(json.dumps(try_map(c, arg)))
        return
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


def map_reply(c, name, mode):
    """(status, result, descriptors) of array.map NAME MODE, read with recvmsg."""
    c.send("array.map", name, mode)
    r, fds = c.recv_with_fds()
    status, result = r.status, r.result
    return status, result, fds


def attempt(fn):
    try:
        fn()
        return "allowed"
    except OSError as e:
        return type(e).__name__


def mprotect_to_writable(fd, size):
    """Map fd for reading, then ask for write access to the mapping."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    if libc.mprotect(addr, size, mmap.PROT_READ | mmap.PROT_WRITE) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def try_map(c, name):
    out = {}
    out["rw_status"], _, fds = map_reply(c, name, "rw")
    out["rw_fds"] = len(fds)
    status, result, fds = map_reply(c, name, "r")
    out["r_status"], out["r_fds"] = status, len(fds)
    if fds:
        fd = fds[0]
        m = mmap.mmap(fd, result["size"], mmap.MAP_SHARED, mmap.PROT_READ)
        out["read"] = list(memoryview(m).cast(result["typecode"]))
        out["mmap_write"] = attempt(lambda: mmap.mmap(fd, result["size"], mmap.MAP_SHARED,
                                                      mmap.PROT_READ | mmap.PROT_WRITE))
        out["mprotect_write"] = attempt(lambda: mprotect_to_writable(fd, result["size"]))
        out["reopen_rw"] = attempt(lambda: os.close(os.open("/proc/self/fd/%d" % fd, os.O_RDWR)))
        out["write"] = attempt(lambda: os.write(fd, b"\1"))
        out["chmod"] = attempt(lambda: os.fchmod(fd, 0o666))
    return out


if __name__ == "__main__":
    main(*sys.argv[1:4])
