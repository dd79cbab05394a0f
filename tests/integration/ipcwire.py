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

With IPCD_TEST_SHM=1 in the environment every Client moves to the
shared-memory channel after hello (PROTOCOL.md, "Shared-memory channel"),
so the whole suite runs over the rings too: the same frames, the same
bytes, garbage included, only carried another way. A test that is about the
socket itself opens its Client with shm=False.
"""
import mmap
import os
import select
import socket
import struct
import sys
import time

import msgpack

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
DEFAULT_TIMEOUT = 10.0
SHM_FROM_ENV = os.environ.get("IPCD_TEST_SHM") == "1"


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


# ---- the shared-memory channel ---------------------------------------------------

SHM_HEADER = 4096
# Offsets of the control words (PROTOCOL.md's table).
REQ_HEAD, REQ_PROD_SLEEP, REQ_TAIL, REQ_CONS_SLEEP = 64, 68, 128, 192
REP_HEAD, REP_PROD_SLEEP, REP_TAIL, REP_CONS_SLEEP = 256, 260, 320, 384
# How long a waiting side sleeps on the socket before it looks at the rings
# again. Python has no atomic exchange or fence: a flag cleared or read a
# moment too early could lose a wake-up, which this bounds to a nap.
SHM_NAP = 0.002


# The control words in one load and one store each, through a memoryview
# of unsigned ints: struct.pack_into zeroes its bytes before it writes them,
# and a daemon reading an index meanwhile sees it go back (out of range).
# Native order is the host's, which the channel uses.
def u32(m, off):
    with memoryview(m) as b, b.cast("I") as w:
        return w[off // 4]


def put32(m, off, v):
    with memoryview(m) as b, b.cast("I") as w:
        w[off // 4] = v & 0xFFFFFFFF


class Rings:
    """A mapped channel: we produce the request ring and consume the reply
    ring. head and tail are our own indices (bytes since the channel
    opened), kept here and only published to the mapping."""

    def __init__(self, fd, size, ring_size):
        self.m = mmap.mmap(fd, size)
        self.ring = ring_size
        self.head = 0
        self.tail = 0

    def room(self):
        return self.ring - ((self.head - u32(self.m, REQ_TAIL)) & 0xFFFFFFFF)

    def write_some(self, data):
        """Copy what fits of data into the request ring and publish it; the
        number of bytes taken."""
        n = min(len(data), self.room())
        base = SHM_HEADER
        at = self.head % self.ring
        first = min(n, self.ring - at)
        self.m[base + at:base + at + first] = data[:first]
        self.m[base:base + n - first] = data[first:n]
        self.head = (self.head + n) & 0xFFFFFFFF
        put32(self.m, REQ_HEAD, self.head)
        return n

    def read_all(self):
        """The bytes the reply ring holds, taken out and published."""
        head = u32(self.m, REP_HEAD)
        n = (head - self.tail) & 0xFFFFFFFF
        if not n:
            return b""
        base = SHM_HEADER + self.ring
        at = self.tail % self.ring
        first = min(n, self.ring - at)
        data = self.m[base + at:base + at + first] + self.m[base:base + n - first]
        self.tail = head
        put32(self.m, REP_TAIL, self.tail)
        return data

    def take_flag(self, off):
        """True if the daemon set the sleeping flag at off (now cleared)."""
        if u32(self.m, off):
            put32(self.m, off, 0)
            return True
        return False

    def close(self):
        self.m.close()


# ---- connection --------------------------------------------------------------

class Client:
    """One connection. call() is request/reply; send()/recv() pipeline."""

    def __init__(self, path, hello=True, name="pytest", timeout=DEFAULT_TIMEOUT, shm=None):
        """shm: move to the shared-memory channel after hello (None: as
        IPCD_TEST_SHM says; a daemon that refuses it leaves the socket)."""
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.next_id = 1
        self.rbuf = b""
        self.fds = []          # descriptors that came on the socket, not yet taken
        self.rings = None
        self.naps = 0          # naps in a row that nothing woke
        self.hello_reply = None
        if hello:
            st, res = self.call("hello", 1, {"name": name})
            if st != 0:
                raise ServerError("hello failed: %s %r" % (E.name(st), res))
            self.hello_reply = res
            if SHM_FROM_ENV if shm is None else shm:
                self.open_shm(required=bool(shm))

    def open_shm(self, required=True):
        """shm.open, then every frame goes through the rings. A refusal
        (shm off, max_memory) raises ServerError if required, else keeps
        the socket."""
        rid = self.send("shm.open")
        r, fds = self.recv_with_fds()
        assert r.id == rid, r
        if r.status:
            if required:
                raise ServerError("shm.open: %s %r" % (E.name(r.status), r.result), r.status)
            return
        assert len(fds) == 1, "shm.open's reply carries the memfd"
        self.rings = Rings(fds[0], r.result["size"], r.result["ring_size"])
        os.close(fds[0])

    # -- raw bytes
    def send_raw(self, data):
        if not self.rings:
            self.sock.sendall(data)
            return
        data = memoryview(data)
        deadline = self._deadline()
        while data:
            n = self.rings.write_some(data)
            data = data[n:]
            if self.rings.take_flag(REQ_CONS_SLEEP):   # the daemon said it sleeps
                self._wake()
            if data:
                self._nap(REQ_PROD_SLEEP, lambda: self.rings.room() > 0, deadline)

    def send_value(self, value):
        """Frame and send any msgpack value (not necessarily a request)."""
        self.send_raw(frame(pack(value)))

    def send(self, op, *args, rid=None):
        """Send one request without waiting; returns its id."""
        if rid is None:
            rid = self.next_id
            self.next_id += 1
        self.send_raw(request_bytes(rid, op, *args))
        return rid

    def _deadline(self):
        t = self.sock.gettimeout()
        return None if t is None else time.monotonic() + t

    def _wake(self):
        try:
            self.sock.send(b"w")
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed("connection closed by the daemon") from e

    def _nap(self, flag, ready, deadline):
        """Say we sleep (flag), look once more, and sleep on the socket for
        at most a nap: it brings wake-ups, descriptors and the end of the
        connection. Then wake the daemon if it sleeps on requests we sent,
        or waits for room in the reply ring; and after a while of napping,
        wake it anyway (a wake-up too many is harmless; one lost to the
        missing fence or a flag cleared just as it was set again would
        otherwise never come)."""
        put32(self.rings.m, flag, 1)
        woken = False
        if not ready():
            left = SHM_NAP if deadline is None else min(SHM_NAP, deadline - time.monotonic())
            if left <= 0:
                put32(self.rings.m, flag, 0)
                raise socket.timeout("timed out")
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                woken = True
                self._socket_read()
        put32(self.rings.m, flag, 0)
        self.naps = 0 if woken else self.naps + 1
        wake = self.rings.take_flag(REP_PROD_SLEEP)
        if self.rings.room() < self.rings.ring:      # requests the daemon has not read
            wake = self.rings.take_flag(REQ_CONS_SLEEP) or wake
        if wake or self.naps % 25 == 24:
            self._wake()

    def _fill(self, n):
        deadline = self._deadline() if self.rings else None
        while len(self.rbuf) < n:
            if self.rings:
                data = self.rings.read_all()
                if data:
                    self.rbuf += data
                    if self.rings.take_flag(REP_PROD_SLEEP):   # the daemon waits for room
                        self._wake()
                else:
                    self._nap(REP_CONS_SLEEP, lambda: u32(self.rings.m, REP_HEAD) != self.rings.tail, deadline)
                continue
            try:
                chunk = self.sock.recv(max(65536, n - len(self.rbuf)))
            except ConnectionResetError as e:
                raise Closed("connection reset") from e
            if not chunk:
                raise Closed("EOF after %d of %d bytes" % (len(self.rbuf), n))
            self.rbuf += chunk

    def _socket_read(self):
        """One recvmsg on the socket: descriptors go to self.fds (in the
        order they came); bytes are the stream's on the socket, wake-ups on
        the channel."""
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 8)
        except ConnectionResetError as e:
            raise Closed("connection reset") from e
        self.fds += fds
        if not data and not fds:
            raise Closed("EOF on the socket")
        if not self.rings:
            self.rbuf += data

    def _frame_buffered(self):
        return len(self.rbuf) >= 4 and len(self.rbuf) >= 4 + struct.unpack(">I", self.rbuf[:4])[0]

    def recv_with_fds(self, **unpack_kw):
        """The next reply and, if it succeeded, the descriptor it carries (a
        reply of value.map, array.map or shm.open carries one): (Reply,
        [fd]) or (Reply, []); the fd is the caller's to close."""
        if not self.rings:
            while not self._frame_buffered():
                self._socket_read()
        r = self.recv(**unpack_kw)
        if r.status:
            return r, []
        while not self.fds:    # on the channel it came before the reply: it is there
            self._socket_read()
        return r, [self.fds.pop(0)]

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
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        if self.rings:
            self.rings.close()
            self.rings = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def held_memory(c):
    """info's memory less what shared-memory rings take: the bytes objects
    hold, the same whichever way the test's clients travel."""
    info = c.ok("info")
    return info["memory"] - info["shm_memory"]


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
