"""Exceptions: one :class:`Error` base, one subclass per protocol error.

Every error reply of the daemon is raised as the subclass named after its
wire name (``WRONGTYPE`` -> :class:`WrongType`, ``NOTFOUND`` ->
:class:`NotFound`, ...). Where the proxies' standard-library contract calls
for a built-in exception the subclass is one too, so existing ``except``
clauses keep working:

=============  ===============================
class          also a
=============  ===============================
NoKey          KeyError
Index          IndexError
NoValue        ValueError
NoTask         ValueError
BadValue       ValueError
Empty          queue.Empty
Full           queue.Full
Timeout        TimeoutError
NotNumber      TypeError
Overflow       OverflowError
ConnectionLost ConnectionError (client side)
=============  ===============================
"""
import queue as _queue
import threading as _threading
from typing import Dict, Optional, Type

from ._tables import ERRORS

__all__ = [
    "Error", "Protocol", "Version", "BadOp", "BadArg", "BadName", "NotFound",
    "WrongType", "Exists", "Empty", "Full", "Timeout", "NoKey", "Index",
    "NoValue", "NotNumber", "Overflow", "BadValue", "TooBig", "NoMem",
    "MaxClients", "Deleted", "Shutdown", "Internal", "NoTask", "NotPending", "Permission", "Persist", "ConnectionLost",
    "BadReply", "error_for",
]


class Error(Exception):
    """Base of every ipcd exception.

    Attributes: ``code`` (the protocol's error code, or 100+ for client-side
    failures), ``wire_name`` (``"NOKEY"``, ...) and ``message`` (the
    daemon's message, or the client's)."""

    code: int = 0
    wire_name: str = "ERROR"

    def __init__(self, *args: object, message: Optional[str] = None) -> None:
        super().__init__(*args)
        if message is None:
            message = str(args[0]) if args else ERRORS.get(self.code, ("", False, ""))[2]
        self.message = message

    def __str__(self) -> str:
        return self.message


def _subclass(name: str, wire: str, *bases: type) -> Type[Error]:
    code = next(c for c, (w, _, _) in ERRORS.items() if w == wire)
    doc = "%s (code %d): %s." % (wire, code, ERRORS[code][2])
    return type(name, (Error,) + bases, {"code": code, "wire_name": wire, "__doc__": doc,
                                         "__module__": __name__})


Protocol = _subclass("Protocol", "PROTOCOL")
Version = _subclass("Version", "VERSION")
BadOp = _subclass("BadOp", "BADOP")
BadArg = _subclass("BadArg", "BADARG")
BadName = _subclass("BadName", "BADNAME")
NotFound = _subclass("NotFound", "NOTFOUND")
WrongType = _subclass("WrongType", "WRONGTYPE")
Exists = _subclass("Exists", "EXISTS")
Empty = _subclass("Empty", "EMPTY", _queue.Empty)
Full = _subclass("Full", "FULL", _queue.Full)
Timeout = _subclass("Timeout", "TIMEOUT", TimeoutError)
Index = _subclass("Index", "INDEX", IndexError)
NoValue = _subclass("NoValue", "NOVALUE", ValueError)
NotNumber = _subclass("NotNumber", "NOTNUMBER", TypeError)
Overflow = _subclass("Overflow", "OVERFLOW", OverflowError)
BadValue = _subclass("BadValue", "BADVALUE", ValueError)
TooBig = _subclass("TooBig", "TOOBIG")
NoMem = _subclass("NoMem", "NOMEM")
MaxClients = _subclass("MaxClients", "MAXCLIENTS")
Deleted = _subclass("Deleted", "DELETED")
Shutdown = _subclass("Shutdown", "SHUTDOWN")
Internal = _subclass("Internal", "INTERNAL")
NoTask = _subclass("NoTask", "NOTASK", ValueError)
NotPending = _subclass("NotPending", "NOTPENDING")
# The daemon's state directory cannot take writes (disk full or failing).
Persist = _subclass("Persist", "PERSIST")
Permission = _subclass("Permission", "PERMISSION", PermissionError)
# A lock released, or a condition waited on, without holding it.
NotHeld = _subclass("NotHeld", "NOTHELD", RuntimeError)
# A barrier broken by a timeout, an abort, a reset or a party that went.
Broken = _subclass("Broken", "BROKEN", _threading.BrokenBarrierError)


class NoKey(Error, KeyError):
    """NOKEY (code 12): no such key or attribute; also a KeyError.

    ``args[0]`` is the key when a proxy raises it, as with ``dict``."""

    code = 12
    wire_name = "NOKEY"

    @classmethod
    def for_key(cls, key: object) -> "NoKey":
        """The error a proxy raises for a missing key: like ``KeyError(key)``,
        ``args[0]`` is the key and ``str()`` its repr."""
        return cls(key, message=repr(key))


class ConnectionLost(Error, ConnectionError):
    """IO (code 100, client side): cannot connect to ipcd, or the connection
    was lost before the reply came. A write that was sent and whose reply was
    lost may or may not have taken effect, so it is never repeated."""

    code = 100
    wire_name = "IO"


class BadReply(Error):
    """REPLY (code 102, client side): the server sent something that is not a
    valid reply; the connection is dropped."""

    code = 102
    wire_name = "REPLY"


_BY_CODE: Dict[int, Type[Error]] = {
    cls.code: cls for cls in (
        Protocol, Version, BadOp, BadArg, BadName, NotFound, WrongType, Exists, Empty,
        Full, Timeout, NoKey, Index, NoValue, NotNumber, Overflow, BadValue, TooBig,
        NoMem, MaxClients, Deleted, Shutdown, Internal, NoTask, NotPending, Permission, Persist, NotHeld, Broken,
        ConnectionLost,
        BadReply)
}
# A wire error added to errors.def after this file was written still gets its
# own class, named from its wire name (FOOBAR -> Foobar).
for _code, (_wire, _closes, _msg) in ERRORS.items():
    if 0 < _code < 100 and _code not in _BY_CODE:
        _BY_CODE[_code] = globals()[_wire.capitalize()] = _subclass(_wire.capitalize(), _wire)


def error_for(code: int, message: str) -> Error:
    """The exception for an error reply with this code and message. A code
    this client does not know (a newer server) gives a plain :class:`Error`."""
    cls = _BY_CODE.get(code)
    if cls is None:
        err = Error(message)
        err.code = code
        err.wire_name = ERRORS.get(code, ("UNKNOWN", False, ""))[0]
        return err
    return cls(message)
