"""The connection to ipcd: framing, handshake, requests, reconnecting.

One :class:`Client` per socket path per process (see :func:`connect`). It
opens a Unix socket for each thread lazily, on that thread's first request,
and closes it when the thread ends; in a child after ``fork()`` it opens new
ones: a child never uses its parent's sockets. The protocol answers the
requests of one connection in order, so a connection per thread is what
lets a thread's blocking ``get`` wait while other threads' requests go on.
A request made while its own thread is already inside one (from a signal
handler or a ``__del__``) uses a short-lived connection of its own.

Reconnecting follows the protocol's rules (PROTOCOL.md, sections 3 and 6):

* a connection found closed before a request is sent (the daemon restarted or
  stopped) is re-made, and the request is sent on the new one;
* a request whose frame could not be written in full never reached the
  server, so it is sent again on a new connection, whatever the op;
* a request whose reply was lost is repeated only if its op does not have
  the WRITE flag (from the generated op table): a lost write may or may not
  have taken effect, so it raises :class:`~ipcd.ConnectionLost` instead;
* a request answered ``SHUTDOWN`` (it waited, or was not yet run, when the
  daemon stopped: the daemon ends every connection with ``[0, SHUTDOWN]``)
  had no effect, so it is sent again to the next daemon, a waiting one with
  what is left of its timeout: a blocked ``get`` rides through a restart.

While re-making a connection that worked before, the client retries for up
to ``reconnect_timeout`` seconds (default 5) so that a daemon restart is
ridden out; a first connection fails at once.

Descriptors: the replies of ``value.map`` and ``array.map`` carry a file
descriptor (PROTOCOL.md section 1). Every read takes the descriptors that
came with its bytes into the connection's queue, oldest first; a map reply
claims the oldest, so a descriptor always goes with the reply it came with.
:meth:`Client.call_fd` hands it to the caller; ``call`` closes it, and
closing a connection closes any still queued.
"""
import collections
import errno
import os
import select
import socket as _socket
import struct
import sys
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import msgpack

from ._tables import OPS, ERRORS, WRITE, BLOCK
from .errors import BadReply, ConnectionLost, Error, TooBig, error_for

__all__ = ["Client", "connect", "default_client", "default_socket", "client_sockets", "PROTOCOL_VERSION"]

_SHUTDOWN = next(c for c, (w, _, _) in ERRORS.items() if w == "SHUTDOWN")
# A daemon that keeps stopping: give up after this many SHUTDOWNs in a row.
_MAX_SHUTDOWN_RETRIES = 20


def _timeout_index(sig: str) -> int:
    """Position in the args of a waiting op's TIMEOUT (its first 't'), or -1."""
    letters = sig.replace("|", "")
    return letters.find("t")


def _with_time_left(args: Sequence[Any], i: int, elapsed: float) -> Tuple[Any, ...]:
    """args with the TIMEOUT at i lowered by the seconds already waited (a
    missing or nil timeout waits for good, and stays so)."""
    if i < 0 or i >= len(args) or not isinstance(args[i], (int, float)) or isinstance(args[i], bool):
        return tuple(args)
    if args[i] < 0:
        return tuple(args)
    out = list(args)
    out[i] = max(0.0, float(args[i]) - elapsed)
    return tuple(out)

PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME = 16 * 1024 * 1024
_HEADER = struct.Struct(">I")
_RECV_SIZE = 256 * 1024
# Descriptors one read may bring (the daemon queues at most 8 per client).
_MAX_FDS = 16
# A Unix stream socket writes a send() of up to this many bytes whole or not
# at all (one buffer's worth; the kernel's default is 208 KiB).
_SEND_WHOLE = 4096
# The ops whose successful replies carry a descriptor.
_FD_OPS = frozenset(("value.map", "array.map"))


#: where the system daemon (ipcd.service) listens
SYSTEM_SOCKET = "/run/ipcd/ipcd.sock"

_GROUP_HINT = (" (the system socket is for members of group ipcd:"
               " usermod -aG ipcd USER, then log in again)")


def default_socket() -> str:
    """The first socket a client tries, and the one ipcd listens on:
    ``$IPCD_SOCKET``, else ``$XDG_RUNTIME_DIR/ipcd.sock``, else
    ``/run/ipcd/ipcd.sock`` (an empty variable counts as unset)."""
    return client_sockets()[0]


def client_sockets() -> List[str]:
    """The sockets a client without an explicit path tries, in order, using
    the first that accepts: ``$IPCD_SOCKET`` alone if set, else
    ``$XDG_RUNTIME_DIR/ipcd.sock`` (a user's own daemon) and then the
    system daemon's ``/run/ipcd/ipcd.sock``."""
    env = os.environ.get("IPCD_SOCKET")
    if env:
        return [env]
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    return [xdg + "/ipcd.sock", SYSTEM_SOCKET] if xdg else [SYSTEM_SOCKET]


# ---- values -------------------------------------------------------------------

def _reject(obj: Any) -> Any:
    """msgpack's hook for a type it cannot pack: ipcd never pickles."""
    raise TypeError("ipcd cannot send a value of type %s.%s: msgpack has no such type "
                    "(ipcd stores nil, bool, int, float, str, bytes, list/tuple, dict "
                    "and msgpack.ExtType; it never pickles)"
                    % (type(obj).__module__, type(obj).__qualname__))


def _hashable(v: Any) -> Any:
    """A map key as Python can hold it: arrays become tuples, maps tuples of
    (key, value) pairs, recursively."""
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple((_hashable(k), _hashable(x)) for k, x in v.items())
    return v


def _pairs_hook(pairs: Sequence[Tuple[Any, Any]]) -> Dict[Any, Any]:
    return {_hashable(k): v for k, v in pairs}


def unpack(data: bytes) -> Any:
    """Decode one msgpack value: str -> str, bin -> bytes, array -> list,
    map -> dict. A map key that Python cannot hash (an array or a map, which
    another client may store) comes back as a tuple. A str that is not valid
    UTF-8 (another client may store one) decodes with ``surrogateescape``:
    each invalid byte becomes a lone surrogate U+DC80..U+DCFF, and
    :func:`pack` turns it back into the same byte, so the value round-trips
    exactly and decoding never fails after an item was taken."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False, unicode_errors="surrogateescape")
    except TypeError:  # unhashable map key: decode again, making keys hashable
        return msgpack.unpackb(data, raw=False, strict_map_key=False, unicode_errors="surrogateescape",
                               object_pairs_hook=_pairs_hook)


def pack(value: Any) -> bytes:
    """Encode one value as ipcd stores it (bytes as bin, str as str, tuples
    as arrays; lone surrogates from :func:`unpack` back to their bytes). A
    type msgpack cannot carry raises TypeError naming it."""
    return msgpack.packb(value, use_bin_type=True, default=_reject, unicode_errors="surrogateescape")


# ---- the connection ----------------------------------------------------------

_ALL_CLIENTS: "weakref.WeakSet[Client]" = weakref.WeakSet()


class _Connection:
    """One socket to the daemon and the state of its replies. Each thread has
    its own (see Client._conn), so only that thread sends on it; ``lock`` is
    held across a request so that close() from another thread never closes
    it mid-request, and ``busy`` (set and read by the owning thread alone)
    tells a reentered call (a signal handler, a ``__del__``) to use another."""

    __slots__ = ("sock", "rbuf", "fds", "next_id", "lock", "busy", "stale", "__weakref__")

    def __init__(self) -> None:
        self.sock: Optional[_socket.socket] = None
        self.rbuf = bytearray()
        self.fds: "collections.deque[int]" = collections.deque()  # received, not yet claimed
        self.next_id = 0
        self.lock = threading.Lock()
        self.busy = False
        self.stale = False  # close() asked while it was in use: drop when done

    def drop(self) -> None:
        s, self.sock, self.rbuf = self.sock, None, bytearray()
        self.close_fds()
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    def close_fds(self) -> None:
        while self.fds:
            try:
                os.close(self.fds.popleft())
            except OSError:
                pass

    def recv(self, n: int) -> bytes:
        """Up to n bytes, queueing the descriptors that came with them
        (close-on-exec, so that an exec'd program never inherits them)."""
        assert self.sock is not None
        data, fds, _flags, _addr = _socket.recv_fds(self.sock, n, _MAX_FDS, _socket.MSG_CMSG_CLOEXEC)
        self.fds.extend(fds)
        return data


class _ThreadSlot:
    """What a thread's threading.local holds: its connection. It dies with the
    thread (CPython clears a thread's locals when it ends, for threads of
    ``_thread`` too) and closes the socket then, even if a stored traceback
    still refers to the connection."""

    __slots__ = ("conn",)

    def __init__(self, conn: _Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.drop()


class Client:
    """Connections to one ipcd, made lazily and re-made after ``fork()``.

    Usually obtained with :func:`connect`, which gives each process one
    client per socket path. ``call(op, *args)`` sends any op of the protocol
    by its wire name and returns its result or raises its error.

    Threads share a client freely: each thread that makes a request gets its
    own connection on its first one, closed when the thread ends, so a
    request waiting in one thread (a blocking ``get``) never holds up another
    thread's. A request made while the same thread is already inside one (a
    signal handler or a ``__del__`` running in the middle of a call) goes
    over a connection of its own, closed after it, instead of waiting for
    the call it interrupted."""

    def __init__(self, socket: Optional[str] = None, *, name: Optional[str] = None,
                 reconnect_timeout: float = 5.0) -> None:
        # Without an explicit path, the first of client_sockets() that
        # accepts; from then on that one, so a reconnect finds the same daemon.
        self._candidates: List[str] = [socket] if socket else client_sockets()
        self.path: str = self._candidates[0]
        self.name = name
        self.reconnect_timeout = reconnect_timeout
        #: the result of ``hello`` on the latest connection (None before one)
        self.server_info: Optional[Dict[str, Any]] = None
        self.max_frame = DEFAULT_MAX_FRAME
        self._connected_before = False
        self._reset_connections()
        _ALL_CLIENTS.add(self)

    def _reset_connections(self) -> None:
        self._pid = os.getpid()
        self._local = threading.local()
        self._conns: "weakref.WeakSet[_Connection]" = weakref.WeakSet()
        self._conns_lock = threading.Lock()

    def __repr__(self) -> str:
        return "<ipcd.Client %s, %d open connection%s>" % (
            self.path, self.connections, "" if self.connections == 1 else "s")

    @property
    def connections(self) -> int:
        """How many connections of this client are open in this process (one
        per thread that made a request and has not ended)."""
        if self._pid != os.getpid():
            return 0
        with self._conns_lock:
            return sum(1 for c in self._conns if c.sock is not None)

    # -- lifecycle
    def _after_fork(self) -> None:
        """In a child: forget the parent's connections (closing only our
        copies of the descriptors) and any lock a parent thread held."""
        old = list(self._conns)
        self._reset_connections()
        for c in old:
            c.drop()
        self.server_info = None

    def _conn(self) -> _Connection:
        """The calling thread's connection (made on its first request)."""
        if self._pid != os.getpid():
            self._after_fork()
        try:
            return self._local.slot.conn
        except AttributeError:
            pass
        conn = _Connection()
        self._local.slot = _ThreadSlot(conn)
        with self._conns_lock:
            self._conns.add(conn)
        return conn

    def _with_conn(self, run: Any, *args: Any) -> Any:
        """run(conn, *args) on the calling thread's connection, or on a
        short-lived one if this thread is already inside a request on it."""
        conn = self._conn()
        if conn.busy:
            spare = _Connection()
            try:
                return run(spare, *args)
            finally:
                spare.drop()
        conn.busy = True
        try:
            with conn.lock:
                try:
                    if conn.stale:
                        conn.stale = False
                        conn.drop()
                    return run(conn, *args)
                finally:
                    if conn.stale:
                        conn.stale = False
                        conn.drop()
        finally:
            conn.busy = False

    def _abandon(self) -> None:
        """Close the calling thread's connection now (after a call was
        interrupted: whatever that call left parked goes with it)."""
        if self._pid != os.getpid():
            return
        slot = getattr(self._local, "slot", None)
        if slot is not None and not slot.conn.busy:
            with slot.conn.lock:
                slot.conn.drop()

    def close(self) -> None:
        """Close every connection of this client; the next request (in any
        thread) opens a new one. A connection in the middle of a request in
        another thread is closed when that request is answered."""
        if self._pid != os.getpid():
            self._after_fork()
            return
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            if c.lock.acquire(False):
                try:
                    c.drop()
                finally:
                    c.lock.release()
            else:
                c.stale = True

    def _open(self, conn: _Connection) -> None:
        # Connect and say hello, retrying both while the deadline lasts: a
        # daemon being replaced may accept and then reset the connection
        # before hello is answered, and the next one is not listening yet.
        deadline = time.monotonic() + (self.reconnect_timeout if self._connected_before else 0)
        delay = 0.005
        opts = {"name": self.name or "python %s pid %d" % (
            os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "-", os.getpid())}
        while True:
            s = None
            connected = False
            try:
                s = self._connect_socket()
                connected = True
                conn.sock = s
                conn.rbuf = bytearray()
                info = self._roundtrip(conn, "hello", OPS["hello"][0], (PROTOCOL_VERSION, opts))
                break
            except (OSError, EOFError) as e:
                conn.drop()
                if s is not None:
                    s.close()
                left = deadline - time.monotonic()
                if left <= 0:
                    if not connected:
                        raise ConnectionLost(getattr(e, "strerror", None) or str(e)) from e
                    raise ConnectionLost("hello to ipcd at %s failed: %s" % (self.path, e)) from e
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.2)
            except Error as e:
                conn.drop()
                if e.code != _SHUTDOWN or time.monotonic() >= deadline:
                    raise
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.2)
            except BaseException:
                conn.drop()
                raise
        if not isinstance(info, dict):
            conn.drop()
            raise BadReply("hello reply is not a map: %r" % (info,))
        self.server_info = info
        self.max_frame = int(info.get("max_frame", DEFAULT_MAX_FRAME))
        self._connected_before = True

    def _connect_socket(self) -> _socket.socket:
        """A socket connected to the first candidate path that accepts, which
        becomes self.path; else OSError naming every path tried and why."""
        tried = []
        denied = False
        last: Optional[OSError] = None
        for path in self._candidates:
            s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                s.connect(path)
            except OSError as e:
                s.close()
                last = e
                denied = denied or e.errno == errno.EACCES
                tried.append("%s (%s)" % (path, e.strerror or e))
                continue
            self.path = path
            self._candidates = [path]
            return s
        assert last is not None
        if len(tried) == 1:
            msg = "cannot connect to ipcd at %s" % tried[0]
        else:
            msg = "cannot connect to ipcd: tried %s" % ", ".join(tried)
        raise OSError(last.errno, msg + (_GROUP_HINT if denied else ""))

    def _ensure_open(self, conn: _Connection) -> None:
        s = conn.sock
        if s is not None:
            # Idle: anything readable now is the server closing us (restart,
            # shutdown, an id-0 error): re-make the connection before sending.
            if select.select([s], [], [], 0)[0]:
                conn.drop()
        if conn.sock is None:
            self._open(conn)

    # -- frames
    @staticmethod
    def _recv_frame(conn: _Connection) -> bytes:
        buf = conn.rbuf
        assert conn.sock is not None
        while len(buf) < 4:
            chunk = conn.recv(_RECV_SIZE)
            if not chunk:
                raise EOFError("connection closed by ipcd")
            buf += chunk
        (n,) = _HEADER.unpack_from(buf)
        if n == 0:  # replies are not bounded by max_frame (PROTOCOL.md section 2)
            raise BadReply("reply frame of %d bytes" % n)
        while len(buf) < 4 + n:
            chunk = conn.recv(max(_RECV_SIZE, 4 + n - len(buf)))
            if not chunk:
                raise EOFError("connection closed by ipcd")
            buf += chunk
        body = bytes(buf[4:4 + n])
        del buf[:4 + n]
        return body

    @staticmethod
    def _frame(rid: int, code: int, args: Sequence[Any]) -> bytes:
        body = pack([rid, code, *args])
        return _HEADER.pack(len(body)) + body

    def _next_reply(self, conn: _Connection) -> Tuple[int, int, Any]:
        """The next reply as (id, status, result), checked for shape."""
        try:
            reply = unpack(self._recv_frame(conn))
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
            raise BadReply("malformed reply: %s" % e) from e
        if not (isinstance(reply, list) and len(reply) == 3 and isinstance(reply[0], int)
                and isinstance(reply[1], int)):
            raise BadReply("malformed reply: %r" % (reply,))
        return reply[0], reply[1], reply[2]

    def _read_reply(self, conn: _Connection, rid: int) -> Tuple[int, Any]:
        """(status, result) of the reply to request rid."""
        got, status, result = self._next_reply(conn)
        if status and (got == 0 or ERRORS.get(status, ("", False))[1]):
            conn.drop()  # the server closes after these
        if got != rid:
            if got == 0 and status:
                return status, result
            raise BadReply("reply id %d, expected %d" % (got, rid))
        return status, result

    def _roundtrip(self, conn: _Connection, op: str, code: int, args: Sequence[Any]) -> Any:
        conn.next_id += 1
        rid = conn.next_id
        assert conn.sock is not None
        conn.sock.sendall(self._frame(rid, code, args))
        status, result = self._read_reply(conn, rid)
        if status:
            raise _error(status, result, op)
        return result

    # -- requests
    def call(self, op: str, *args: Any) -> Any:
        """Send one request and return its result, or raise its error.

        ``op`` is a wire name (``"queue.put"``); args follow the op's
        signature in PROTOCOL.md. Raises the :class:`~ipcd.Error` subclass
        of an error reply, :class:`~ipcd.ConnectionLost` when the daemon
        cannot be reached, TypeError for a value msgpack cannot carry.

        A request the daemon answers ``SHUTDOWN`` (it was waiting, or not yet
        run, when the daemon stopped) had no effect: it is sent again once
        the daemon is back (within ``reconnect_timeout``), a waiting request
        with what is left of its timeout."""
        try:
            spec = OPS[op]
        except KeyError:
            raise ValueError("unknown ipcd op %r" % (op,)) from None
        result, fd = self._with_conn(self._call, op, spec, args)
        if fd is not None:
            os.close(fd)
        return result

    def call_fd(self, op: str, *args: Any) -> Tuple[Any, int]:
        """call() for an op whose reply carries a descriptor (``value.map``,
        ``array.map``): (result, fd); the caller owns fd and closes it."""
        if op not in _FD_OPS:
            raise ValueError("%r replies without a descriptor" % (op,))
        return self._with_conn(self._call, op, OPS[op], args)

    def _call_cancelling(self, op: str, args: Sequence[Any],
                        on_interrupt: "Callable[[Optional[Tuple[int, Any]]], None]") -> Any:
        """call(op, *args) for a waiting op whose wait an exception (a
        KeyboardInterrupt, or what a signal handler raises) must end without
        closing the thread's connection, which keeps what it holds. Such an
        exception sends ``cancel`` (PROTOCOL.md): the daemon ends the wait
        as its timeout would, and the thread's connection reads that answer
        and goes on. on_interrupt((status, result)) is told the wait's
        answer (None if the exception came after the answer had been read,
        losing it) before the exception goes on. If the connection broke
        before or while cancelling, or a second exception came, it is closed
        as for ``call`` and on_interrupt is not called."""
        try:
            spec = OPS[op]
        except KeyError:
            raise ValueError("unknown ipcd op %r" % (op,)) from None
        result, fd = self._with_conn(self._call, op, spec, args, on_interrupt)
        if fd is not None:
            os.close(fd)
        return result

    def _interrupted(self, conn: _Connection, rid: int, on_interrupt: Any) -> None:
        """Request rid on conn was sent (or, a small one, not at all) and
        its answer not read when an exception came (Ctrl-C). Without on_interrupt the connection is
        closed (it is out of step with its replies; the server drops a
        waiter whose client went away). With it the wait is cancelled,
        keeping the connection, and on_interrupt is told its answer; if the
        cancel cannot be done (the connection broke), the connection is
        closed and on_interrupt not called. A second interrupt while
        cancelling closes it and goes on instead of the first."""
        if on_interrupt is None or conn.sock is None:
            conn.drop()
            return
        try:
            outcome = self._cancel(conn, rid)
        except Exception:
            conn.drop()
            return
        except BaseException:
            conn.drop()
            raise
        on_interrupt(outcome)

    def _cancel(self, conn: _Connection, rid: int) -> Optional[Tuple[int, Any]]:
        """End the wait of request rid on conn: send cancel after it, read
        both answers. (status, result) of rid, or None if its answer had
        been read already (the exception came after it)."""
        conn.next_id += 1
        cid = conn.next_id
        assert conn.sock is not None
        conn.sock.sendall(self._frame(cid, OPS["cancel"][0], ()))
        outcome: Optional[Tuple[int, Any]] = None
        got, status, result = self._read_reply_any(conn)
        if got == rid:
            outcome = (status, result)
            got, status, result = self._read_reply_any(conn)
        if got != cid:
            raise BadReply("reply id %d, expected %d" % (got, cid))
        return outcome

    def _read_reply_any(self, conn: _Connection) -> Tuple[int, int, Any]:
        """(id, status, result) of the next reply, whichever request it answers."""
        got, status, result = self._next_reply(conn)
        if status and (got == 0 or ERRORS.get(status, ("", False))[1]):
            raise BadReply("connection closed by ipcd: %r" % (result,))
        return got, status, result

    def _call(self, conn: _Connection, op: str, spec: Tuple[int, str, int, str],
              args: Sequence[Any], on_interrupt: Any = None) -> Tuple[Any, Optional[int]]:
        """(result, the reply's descriptor or None)."""
        code, _type, flags, sig = spec
        t0 = time.monotonic()
        timeout_at = _timeout_index(sig) if flags & BLOCK else -1
        conn.next_id += 1
        rid = conn.next_id
        data = self._frame(rid, code, args)  # TypeError before any I/O
        attempt = 0
        shutdowns = 0
        while True:
            self._ensure_open(conn)
            if len(data) - 4 > self.max_frame:
                raise TooBig("request of %d bytes is over the server's max_frame of %d"
                             % (len(data) - 4, self.max_frame))
            assert conn.sock is not None
            sent = 0
            try:
                # A frame of up to _SEND_WHOLE bytes goes in one send(), which
                # on a Unix stream socket writes all of it or none: an
                # interrupt that comes meanwhile (even just after, as the
                # call returns) leaves the stream whole.
                view = memoryview(data)
                while sent < len(data):
                    sent += conn.sock.send(view[sent:])
            except OSError as e:
                # Not written in full: the server never had the request.
                conn.drop()
                if attempt == 0:
                    attempt = 1
                    continue
                raise ConnectionLost("ipcd at %s: %s" % (self.path, e)) from e
            except BaseException:
                # Interrupted: the request may be waiting already, or not
                # sent at all, which the cancel's answer tells apart. A big
                # frame cut in the middle leaves the connection unusable.
                if sent >= len(data) or (sent == 0 and len(data) <= _SEND_WHOLE):
                    self._interrupted(conn, rid, on_interrupt)
                else:
                    conn.drop()
                raise
            try:
                status, result = self._read_reply(conn, rid)
            except (OSError, EOFError) as e:
                conn.drop()
                if attempt == 0 and not flags & WRITE:
                    attempt = 1
                    continue
                raise ConnectionLost(
                    "connection to ipcd at %s lost before the reply to %s%s" % (
                        self.path, op, " (it may or may not have taken effect)"
                        if flags & WRITE else "")) from e
            except BadReply:
                conn.drop()   # out of step with its replies
                raise
            except BaseException:
                self._interrupted(conn, rid, on_interrupt)
                raise
            if status == _SHUTDOWN and shutdowns < _MAX_SHUTDOWN_RETRIES:
                # Not run: again on the next daemon, with the time left.
                conn.drop()
                shutdowns += 1
                attempt = 0
                args = _with_time_left(args, timeout_at, time.monotonic() - t0)
                conn.next_id += 1
                rid = conn.next_id
                data = self._frame(rid, code, args)
                continue
            if status:
                raise _error(status, result, op)
            if op not in _FD_OPS:
                return result, None
            if not conn.fds:
                conn.drop()
                raise BadReply("the reply to %s came without its descriptor" % op)
            return result, conn.fds.popleft()

    def pipeline(self, calls: Sequence[Tuple[str, Sequence[Any]]]) -> List[Any]:
        """Send several requests at once and read their replies in order:
        one round trip instead of len(calls). Returns the results; if any
        failed, raises the first error after reading every reply. Requests
        are never repeated; other clients' requests may run between them."""
        if not calls:
            return []
        return self._with_conn(self._pipeline, calls)

    def _pipeline(self, conn: _Connection, calls: Sequence[Tuple[str, Sequence[Any]]]) -> List[Any]:
        frames, ids = [], []
        for op, args in calls:
            conn.next_id += 1
            ids.append(conn.next_id)
            frames.append(self._frame(conn.next_id, OPS[op][0], args))
        self._ensure_open(conn)
        for f in frames:
            if len(f) - 4 > self.max_frame:
                raise TooBig("request of %d bytes is over the server's max_frame of %d"
                             % (len(f) - 4, self.max_frame))
        results: List[Any] = []
        first: Optional[Error] = None
        assert conn.sock is not None
        try:
            conn.sock.sendall(b"".join(frames))
            for (op, _args), rid in zip(calls, ids):
                status, result = self._read_reply(conn, rid)
                if status:
                    if first is None:
                        first = _error(status, result, op)
                    result = None
                elif op in _FD_OPS and conn.fds:
                    os.close(conn.fds.popleft())   # a pipeline keeps no descriptor
                results.append(result)
        except (OSError, EOFError) as e:
            conn.drop()
            raise ConnectionLost("connection to ipcd at %s lost during a pipeline: %s"
                                 % (self.path, e)) from e
        except BaseException:
            conn.drop()
            raise
        if first is not None:
            raise first
        return results

    # -- conveniences
    def ping(self, value: Any = None) -> Any:
        """Round trip to the daemon: returns "pong" (or value if given)."""
        return self.call("ping") if value is None else self.call("ping", value)

    def info(self) -> Dict[str, Any]:
        """The daemon's ``info`` map (version, uptime, clients, objects, ...)."""
        return self.call("info")

    def ls(self, pattern: Optional[str] = None) -> List[Tuple[str, str]]:
        """Every object name matching the glob pattern, with its type, paging
        through ``ls`` to the end."""
        out: List[Tuple[str, str]] = []
        cursor = 0
        while True:
            cursor, page = self.call("ls", pattern, cursor, 1000)
            out.extend((n, t) for n, t in page)
            if cursor == 0:
                return out

    def exists(self, name: str) -> bool:
        return bool(self.call("exists", name))

    def type(self, name: str) -> Optional[str]:
        """The type of the object called name, or None if there is none."""
        from .errors import NotFound
        try:
            return self.call("type", name)
        except NotFound:
            return None

    def delete(self, name: str) -> bool:
        """Delete the object; True if it existed."""
        from .errors import NotFound
        try:
            self.call("delete", name)
            return True
        except NotFound:
            return False

    def chmod(self, name: str, mode: Union[int, str]) -> None:
        """Set the object's access mode: an int (0o640) or an octal string
        ("0640"). Only its owner, root or a holder of the a bit may."""
        self.call("chmod", name, mode)

    def chown(self, name: str, owner: Optional[int] = None, group: Optional[int] = None) -> None:
        """Give the object to uid owner and/or gid group (None keeps either)."""
        self.call("chown", name, owner, group)


def _error(status: int, message: Any, op: str) -> Error:
    err = error_for(status, message if isinstance(message, str) else repr(message))
    err.op = op  # type: ignore[attr-defined]
    return err


def _reset_all_after_fork() -> None:
    global _clients_lock
    _clients_lock = threading.Lock()
    for c in list(_ALL_CLIENTS):
        c._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_after_fork)


# ---- one client per socket path per process -----------------------------------------

_clients: Dict[str, Client] = {}
_default: Optional[Client] = None
_clients_lock = threading.Lock()


def connect(socket: Optional[str] = None, *, name: Optional[str] = None) -> Client:
    """The process's client for ``socket`` (default: :func:`default_socket`),
    made on first use, and from now on the default of proxies made without
    ``client=``. The connection itself opens lazily, on the first request,
    and is re-made in a child after ``fork()``."""
    global _default
    # Without a path the key is the list of candidates: the client settles
    # on whichever accepts first.
    key = socket if socket else "\0".join(client_sockets())
    with _clients_lock:
        c = _clients.get(key)
        if c is None:
            c = _clients[key] = Client(socket, name=name)
        _default = c
    return c


def default_client() -> Client:
    """The client of the last :func:`connect`, else ``connect()``."""
    return _default if _default is not None else connect()
