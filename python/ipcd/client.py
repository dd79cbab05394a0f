"""The connection to ipcd: framing, handshake, requests, reconnecting.

One :class:`Client` per socket path per process (see :func:`connect`). It
opens its Unix socket lazily, on the first request, and again in a child
after ``fork()``: a child never uses its parent's socket. Requests from the
threads of one process are serialised on the connection; while one waits
(a blocking ``get``), the others queue behind it, as the protocol answers the
requests of a connection in order. Threads that must wait concurrently each
use their own ``Client(...)``.

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
"""
import os
import select
import socket as _socket
import struct
import sys
import threading
import time
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import msgpack

from ._tables import OPS, ERRORS, WRITE, BLOCK
from .errors import BadReply, ConnectionLost, Error, TooBig, error_for

__all__ = ["Client", "connect", "default_client", "default_socket", "PROTOCOL_VERSION"]

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


def default_socket() -> str:
    """The default socket path, by the rule every ipcd client follows:
    ``$IPCD_SOCKET``, else ``$XDG_RUNTIME_DIR/ipcd.sock``, else
    ``/run/ipcd/ipcd.sock`` (an empty variable counts as unset)."""
    env = os.environ.get("IPCD_SOCKET")
    if env:
        return env
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return xdg + "/ipcd.sock"
    return "/run/ipcd/ipcd.sock"


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
    another client may store) comes back as a tuple."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except TypeError:  # unhashable map key: decode again, making keys hashable
        return msgpack.unpackb(data, raw=False, strict_map_key=False,
                               object_pairs_hook=_pairs_hook)


def pack(value: Any) -> bytes:
    """Encode one value as ipcd stores it (bytes as bin, str as str, tuples
    as arrays). A type msgpack cannot carry raises TypeError naming it."""
    return msgpack.packb(value, use_bin_type=True, default=_reject)


# ---- the connection ----------------------------------------------------------

_ALL_CLIENTS: "weakref.WeakSet[Client]" = weakref.WeakSet()


class Client:
    """A connection to one ipcd, made lazily and re-made after ``fork()``.

    Usually obtained with :func:`connect`, which gives each process one
    client per socket path. ``call(op, *args)`` sends any op of the protocol
    by its wire name and returns its result or raises its error."""

    def __init__(self, socket: Optional[str] = None, *, name: Optional[str] = None,
                 reconnect_timeout: float = 5.0) -> None:
        self.path: str = socket if socket else default_socket()
        self.name = name
        self.reconnect_timeout = reconnect_timeout
        #: the result of ``hello`` on the current connection (None before one)
        self.server_info: Optional[Dict[str, Any]] = None
        self.max_frame = DEFAULT_MAX_FRAME
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._sock: Optional[_socket.socket] = None
        self._rbuf = bytearray()
        self._next_id = 0
        self._connected_before = False
        _ALL_CLIENTS.add(self)

    def __repr__(self) -> str:
        state = "connected" if self._sock is not None and self._pid == os.getpid() else "idle"
        return "<ipcd.Client %s %s>" % (self.path, state)

    # -- lifecycle
    def _after_fork(self) -> None:
        """In a child: forget the parent's connection (closing only our copy
        of the descriptor) and any lock a parent thread held."""
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._drop()
        self.server_info = None

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._rbuf = bytearray()

    def _open(self) -> None:
        # Connect and say hello, retrying both while the deadline lasts: a
        # daemon being replaced may accept and then reset the connection
        # before hello is answered, and the next one is not listening yet.
        deadline = time.monotonic() + (self.reconnect_timeout if self._connected_before else 0)
        delay = 0.005
        opts = {"name": self.name or "python %s pid %d" % (
            os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "-", os.getpid())}
        while True:
            s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            connected = False
            try:
                s.connect(self.path)
                connected = True
                self._sock = s
                self._rbuf = bytearray()
                info = self._roundtrip("hello", OPS["hello"][0], (PROTOCOL_VERSION, opts))
                break
            except (OSError, EOFError) as e:
                self._drop()
                s.close()
                left = deadline - time.monotonic()
                if left <= 0:
                    if not connected:
                        raise ConnectionLost("cannot connect to ipcd at %s: %s"
                                             % (self.path, getattr(e, "strerror", None) or e)) from e
                    raise ConnectionLost("hello to ipcd at %s failed: %s" % (self.path, e)) from e
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.2)
            except Error as e:
                self._drop()
                if e.code != _SHUTDOWN or time.monotonic() >= deadline:
                    raise
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.2)
            except BaseException:
                self._drop()
                raise
        if not isinstance(info, dict):
            self._drop()
            raise BadReply("hello reply is not a map: %r" % (info,))
        self.server_info = info
        self.max_frame = int(info.get("max_frame", DEFAULT_MAX_FRAME))
        self._connected_before = True

    def _ensure_open(self) -> None:
        s = self._sock
        if s is not None:
            # Idle: anything readable now is the server closing us (restart,
            # shutdown, an id-0 error): re-make the connection before sending.
            if select.select([s], [], [], 0)[0]:
                self._drop()
        if self._sock is None:
            self._open()

    # -- frames
    def _send(self, data: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(data)

    def _recv_frame(self) -> bytes:
        s = self._sock
        buf = self._rbuf
        assert s is not None
        while len(buf) < 4:
            chunk = s.recv(_RECV_SIZE)
            if not chunk:
                raise EOFError("connection closed by ipcd")
            buf += chunk
        (n,) = _HEADER.unpack_from(buf)
        if n == 0:  # replies are not bounded by max_frame (PROTOCOL.md section 2)
            raise BadReply("reply frame of %d bytes" % n)
        while len(buf) < 4 + n:
            chunk = s.recv(max(_RECV_SIZE, 4 + n - len(buf)))
            if not chunk:
                raise EOFError("connection closed by ipcd")
            buf += chunk
        body = bytes(buf[4:4 + n])
        del buf[:4 + n]
        return body

    def _frame(self, rid: int, code: int, args: Sequence[Any]) -> bytes:
        body = pack([rid, code, *args])
        return _HEADER.pack(len(body)) + body

    def _read_reply(self, rid: int) -> Tuple[int, Any]:
        """(status, result) of the reply to request rid."""
        try:
            reply = unpack(self._recv_frame())
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
            raise BadReply("malformed reply: %s" % e) from e
        if not (isinstance(reply, list) and len(reply) == 3 and isinstance(reply[0], int)
                and isinstance(reply[1], int)):
            raise BadReply("malformed reply: %r" % (reply,))
        got, status, result = reply
        if status and (got == 0 or ERRORS.get(status, ("", False))[1]):
            self._drop()  # the server closes after these
        if got != rid:
            if got == 0 and status:
                return status, result
            raise BadReply("reply id %d, expected %d" % (got, rid))
        return status, result

    def _roundtrip(self, op: str, code: int, args: Sequence[Any]) -> Any:
        self._next_id += 1
        rid = self._next_id
        self._send(self._frame(rid, code, args))
        status, result = self._read_reply(rid)
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
            code, _type, flags, sig = OPS[op]
        except KeyError:
            raise ValueError("unknown ipcd op %r" % (op,)) from None
        if self._pid != os.getpid():
            self._after_fork()
        t0 = time.monotonic()
        timeout_at = _timeout_index(sig) if flags & BLOCK else -1
        with self._lock:
            self._next_id += 1
            rid = self._next_id
            data = self._frame(rid, code, args)  # TypeError before any I/O
            attempt = 0
            shutdowns = 0
            while True:
                self._ensure_open()
                if len(data) - 4 > self.max_frame:
                    raise TooBig("request of %d bytes is over the server's max_frame of %d"
                                 % (len(data) - 4, self.max_frame))
                try:
                    self._send(data)
                except OSError as e:
                    # Not written in full: the server never had the request.
                    self._drop()
                    if attempt == 0:
                        attempt = 1
                        continue
                    raise ConnectionLost("ipcd at %s: %s" % (self.path, e)) from e
                except BaseException:
                    self._drop()
                    raise
                try:
                    status, result = self._read_reply(rid)
                except (OSError, EOFError) as e:
                    self._drop()
                    if attempt == 0 and not flags & WRITE:
                        attempt = 1
                        continue
                    raise ConnectionLost(
                        "connection to ipcd at %s lost before the reply to %s%s" % (
                            self.path, op, " (it may or may not have taken effect)"
                            if flags & WRITE else "")) from e
                except BaseException:
                    # Interrupted (Ctrl-C) or a bad reply: the connection is
                    # out of step with its replies; the server drops a waiter
                    # whose client went away.
                    self._drop()
                    raise
                if status == _SHUTDOWN and shutdowns < _MAX_SHUTDOWN_RETRIES:
                    # Not run: again on the next daemon, with the time left.
                    self._drop()
                    shutdowns += 1
                    attempt = 0
                    args = _with_time_left(args, timeout_at, time.monotonic() - t0)
                    self._next_id += 1
                    rid = self._next_id
                    data = self._frame(rid, code, args)
                    continue
                if status:
                    raise _error(status, result, op)
                return result

    def pipeline(self, calls: Sequence[Tuple[str, Sequence[Any]]]) -> List[Any]:
        """Send several requests at once and read their replies in order:
        one round trip instead of len(calls). Returns the results; if any
        failed, raises the first error after reading every reply. Requests
        are never repeated; other clients' requests may run between them."""
        if not calls:
            return []
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            frames, ids = [], []
            for op, args in calls:
                self._next_id += 1
                ids.append(self._next_id)
                frames.append(self._frame(self._next_id, OPS[op][0], args))
            self._ensure_open()
            for f in frames:
                if len(f) - 4 > self.max_frame:
                    raise TooBig("request of %d bytes is over the server's max_frame of %d"
                                 % (len(f) - 4, self.max_frame))
            results: List[Any] = []
            first: Optional[Error] = None
            try:
                self._send(b"".join(frames))
                for (op, _args), rid in zip(calls, ids):
                    status, result = self._read_reply(rid)
                    if status:
                        if first is None:
                            first = _error(status, result, op)
                        result = None
                    results.append(result)
            except (OSError, EOFError) as e:
                self._drop()
                raise ConnectionLost("connection to ipcd at %s lost during a pipeline: %s"
                                     % (self.path, e)) from e
            except BaseException:
                self._drop()
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
    path = socket if socket else default_socket()
    with _clients_lock:
        c = _clients.get(path)
        if c is None:
            c = _clients[path] = Client(path, name=name)
        _default = c
    return c


def default_client() -> Client:
    """The client of the last :func:`connect`, else ``connect()``."""
    return _default if _default is not None else connect()
