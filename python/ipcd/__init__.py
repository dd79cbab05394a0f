"""ipcd: named queues, lists, dicts and namespaces shared by the processes of
one host, served by the ipcd daemon. Pure Python over msgpack.

Proxies look like the standard types, so ``multiprocessing`` code moves to
ipcd by changing its constructors::

    import ipcd
    jobs = ipcd.Queue("jobs")          # queue.Queue / JoinableQueue interface
    stats = ipcd.Dict("stats")         # MutableMapping, plus incr() and cas()
    log = ipcd.List("log")             # MutableSequence, plus a blocking pop
    cfg = ipcd.Namespace("cfg")        # attributes, like SimpleNamespace
    guard = ipcd.Lock("guard")         # threading.Lock; also RLock, Semaphore,
                                       # BoundedSemaphore, Event, Condition, Barrier

They talk to the daemon on the default socket (``$IPCD_SOCKET`` alone, else
the first of ``$XDG_RUNTIME_DIR/ipcd.sock`` and ``/run/ipcd/ipcd.sock`` that
accepts, see :func:`client_sockets`) unless
:func:`connect` named another first. Each thread of a process has its own
connection, opened on its first request, closed when the thread ends, and
opened again in a child after ``fork()``: threads share proxies freely, and a
blocking call in one never delays another's.

Values map to msgpack naturally: None, bool, int (64-bit), float, str,
bytes (also bytearray/memoryview, read back as bytes), list and tuple (read
back as lists), dict, and ``msgpack.ExtType``. Anything else raises TypeError
naming its type: ipcd never pickles. A str holding bytes that are not UTF-8
(another client may store one) decodes with ``surrogateescape`` and encodes
back to the same bytes.
"""
from .client import PROTOCOL_VERSION, Client, client_sockets, connect, default_client, default_socket
from .errors import (BadArg, BadName, BadOp, BadReply, BadValue, ConnectionLost, Deleted,
                     Empty, Error, Exists, Full, Index, Internal, MaxClients, NoKey, NoMem,
                     NotFound, NotNumber, NoTask, Broken, NotHeld, NotPending, Permission, Persist, NoValue, Overflow, Protocol,
                     Shutdown, Timeout, TooBig, Version, WrongType)
from .proxies import Delivery, Dict, JoinableQueue, List, Namespace, Queue
from .sync import Array, Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore, Value

__version__ = "0.1.0"

__all__ = [
    "connect", "default_client", "default_socket", "client_sockets", "Client", "PROTOCOL_VERSION",
    "Queue", "JoinableQueue", "Delivery", "Dict", "List", "Namespace",
    "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event", "Condition", "Barrier", "Value", "Array",
    "Error", "Protocol", "Version", "BadOp", "BadArg", "BadName", "NotFound", "WrongType",
    "Exists", "Empty", "Full", "Timeout", "NoKey", "Index", "NoValue", "NotNumber",
    "Overflow", "BadValue", "TooBig", "NoMem", "MaxClients", "Deleted", "Shutdown",
    "Internal", "NoTask", "Broken", "NotHeld", "NotPending", "Permission", "Persist", "ConnectionLost", "BadReply",
]
