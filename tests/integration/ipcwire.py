"""ipcwire: a raw ipcd protocol client for the integration tests.

No libipcd here on purpose: the tests talk to the daemon byte for byte, so
they can also send what no well-behaved client would (garbage, truncated
frames, huge length prefixes, non-canonical encodings).

A frame is a u32 big-endian length and one msgpack value. A request is
[id, op, args...]; a reply is [id, 0, result] or [id, code, message].

Error codes and op codes are read from proto/errors.def and proto/ops.def,
the same files the daemon is built from, so the tests never hard-code them
twice: E.NOTFOUND, E["NOTFOUND"], OPS["queue.put"].code.

Every socket has a timeout (default 10 s): a test never waits unbounded.
"""
import os
import socket
import struct
import sys
import time

import msgpack

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
DEFAULT_TIMEOUT = 10.0


# ---- the tables ------------------------------------------------------------

sys.path.insert(0, os.path.join(PROTO_DIR, "..", "python", "tools"))
import gen_tables  # noqa: E402  (the one parser of ops.def and errors.def)


class _Errors:
    """Error codes by wire name, from errors.def: E.NOTFOUND == 6."""

    def __init__(self, path):
        errs = gen_tables.read_errors(path)
        self.by_name = {e.name: e.code for e in errs}
        self.closes = {e.code: e.closes for e in errs}
        self.by_code = {e.code: e.name for e in errs}

    def __getattr__(self, name):
        try:
            return self.__dict__["by_name"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        return self.by_name[name]

    def name(self, code):
        return self.by_code.get(code, "UNKNOWN(%r)" % (code,))


class Op:
    """One op of ops.def: code, wire name, type ("QUEUE", "ANY", ...), flags
    (bit mask, gen_tables.FLAGS), signature and its arity."""

    def __init__(self, code, name, type_, flags, sig):
        self.code, self.name, self.type, self.flags, self.sig = code, name, type_, flags, sig
        required, _, optional = sig.partition("|")
        self.min_args = len(required)
        self.max_args = len(required) + len(optional)

    def __repr__(self):
        return "Op(%d, %r, %r)" % (self.code, self.name, self.sig)


E = _Errors(os.path.join(PROTO_DIR, "errors.def"))
OPS = {op.name: Op(op.code, op.name, op.type.upper(), op.flags, op.sig)
       for op in gen_tables.read_ops(os.path.join(PROTO_DIR, "ops.def"))}
# The object types in ops.def order ("queue", ..., "lock", ...).
TYPES = tuple(dict.fromkeys(op.type.lower() for op in OPS.values() if op.type != "ANY"))


# ---- encoding ----------------------------------------------------------------

def pack(value):
    return msgpack.packb(value, use_bin_type=True)


def unpack(data, **kw):
    kw.setdefault("raw", False)
    kw.setdefault("strict_map_key", False)
    return msgpack.unpackb(data, **kw)


def frame(body):
    """Length-prefix already encoded bytes."""
    return struct.pack(">I", len(body)) + body


def request_bytes(rid, op, *args):
    return frame(pack([rid, op] + list(args)))


class Closed(Exception):
    """The server closed the connection (EOF, or reset)."""


class Reply:
    """[id, status, result]; ok when status is 0."""

    __slots__ = ("id", "status", "result", "raw")

    def __init__(self, raw, decoded):
        self.raw = raw
        self.id, self.status, self.result = decoded

    def __iter__(self):
        return iter((self.status, self.result))

    def __repr__(self):
        if self.status == 0:
            return "Reply(id=%r, ok, %r)" % (self.id, self.result)
        return "Reply(id=%r, %s, %r)" % (self.id, E.name(self.status), self.result)


class ServerError(AssertionError):
    """An error reply where success was required; status is its code."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


# ---- connection --------------------------------------------------------------

class Client:
    """One connection. call() is request/reply; send()/recv() pipeline."""

    def __init__(self, path, hello=True, name="pytest", timeout=DEFAULT_TIMEOUT):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.next_id = 1
        self.rbuf = b""
        self.hello_reply = None
        if hello:
            st, res = self.call("hello", 1, {"name": name})
            if st != 0:
                raise ServerError("hello failed: %s %r" % (E.name(st), res))
            self.hello_reply = res

    # -- raw bytes
    def send_raw(self, data):
        self.sock.sendall(data)

    def send_value(self, value):
        """Frame and send any msgpack value (not necessarily a request)."""
        self.sock.sendall(frame(pack(value)))

    def send(self, op, *args, rid=None):
        """Send one request without waiting; returns its id."""
        if rid is None:
            rid = self.next_id
            self.next_id += 1
        self.sock.sendall(request_bytes(rid, op, *args))
        return rid

    def _fill(self, n):
        while len(self.rbuf) < n:
            try:
                chunk = self.sock.recv(max(65536, n - len(self.rbuf)))
            except ConnectionResetError as e:
                raise Closed("connection reset") from e
            if not chunk:
                raise Closed("EOF after %d of %d bytes" % (len(self.rbuf), n))
            self.rbuf += chunk

    def recv_frame(self):
        """The next frame's body (bytes)."""
        self._fill(4)
        (n,) = struct.unpack(">I", self.rbuf[:4])
        self._fill(4 + n)
        body, self.rbuf = self.rbuf[4:4 + n], self.rbuf[4 + n:]
        return body

    def recv(self, **unpack_kw):
        """The next reply as a Reply (status, result)."""
        body = self.recv_frame()
        decoded = unpack(body, **unpack_kw)
        assert isinstance(decoded, (list, tuple)) and len(decoded) == 3, "malformed reply %r" % (decoded,)
        assert isinstance(decoded[0], int) and isinstance(decoded[1], int), "malformed reply %r" % (decoded,)
        if decoded[1] != 0:
            assert isinstance(decoded[2], str), "error message is not a str: %r" % (decoded,)
        return Reply(body, decoded)

    def call(self, op, *args, **unpack_kw):
        """Send one request and return its Reply (iterable as (status, result))."""
        rid = self.send(op, *args)
        r = self.recv(**unpack_kw)
        assert r.id == rid, "reply id %r for request %r" % (r.id, rid)
        return r

    def ok(self, op, *args, **unpack_kw):
        """call() that must succeed; returns the result."""
        r = self.call(op, *args, **unpack_kw)
        if r.status != 0:
            raise ServerError("%s%r -> %s %r" % (op, args, E.name(r.status), r.result), r.status)
        return r.result

    def err(self, op, *args):
        """call() that must fail; returns the error code."""
        r = self.call(op, *args)
        if r.status == 0:
            raise ServerError("%s%r succeeded with %r, expected an error" % (op, args, r.result))
        return r.status

    def expect_closed(self, timeout=DEFAULT_TIMEOUT):
        """True once the server has closed the connection (reads to EOF,
        discarding what is left); bounded by timeout."""
        deadline = time.monotonic() + timeout
        self.rbuf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wait_until(pred, timeout=5.0, what="condition"):
    """Re-evaluate pred (each call a round trip to the daemon, never a sleep)
    until it is true; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except ServerError as e:
            # NOTFOUND: the object the predicate reads is made by a request
            # that may still be on its way (a parked get creates its queue)
            if e.status != E.NOTFOUND:
                raise
            v = None
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)


def nested(depth, leaf=None):
    """depth arrays nested in each other; the innermost holds leaf, or is
    empty when leaf is None."""
    v = [] if leaf is None else [leaf]
    for _ in range(depth - 1):
        v = [v]
    return v


def ping_body(size, rid=1):
    """The body of a ping request [rid, "ping", "xxx..."] of exactly size bytes."""
    n = max(0, size - 8)
    for _ in range(8):
        body = pack([rid, "ping", "x" * n])
        if len(body) == size:
            return body
        n += size - len(body)
        n = max(n, 0)
    raise ValueError("no ping body of %d bytes" % size)
