"""Proxies for named ipcd objects that behave like the standard types.

A proxy holds only a name and a :class:`~ipcd.Client`; every method is one
request to the daemon (a few are several, noted), so any number of processes
can hold proxies of the same name. Proxies can be passed to
``multiprocessing.Process`` with any start method: they pickle as their name
and socket path, never their content.
"""
import operator
import os
import queue as _queue
import sys
import threading
from collections import deque as _deque
from collections.abc import ItemsView, KeysView, MutableMapping, MutableSequence, ValuesView
from types import SimpleNamespace
from typing import (Any, Dict as _DictT, Iterable, Iterator, List as _ListT, Optional,
                    Tuple, Union, overload)

from .client import Client, _hashable, connect, default_client
from .errors import Empty, Full, Index, NoKey, NotFound, NoValue, Timeout

__all__ = ["Queue", "JoinableQueue", "Delivery", "Dict", "List", "Namespace"]

PAGE = 1000  # items per request when iterating a dict or a list
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_MISSING: Any = object()


def _restore(cls: type, name: str, path: str) -> Any:
    """Unpickle a proxy: the same name, through this process's client."""
    obj = cls.__new__(cls)
    _Proxy._bind(obj, name, connect(path) if path else default_client())
    return obj


def _restore_ns(name: str, path: str) -> "Namespace":
    """Unpickle a Namespace proxy."""
    return Namespace(name, client=connect(path))


def _clamp(i: Optional[int]) -> Optional[int]:
    """An index or slice bound as an int64: clamping keeps Python's meaning,
    since no list is anywhere near 2**62 items long."""
    if i is None:
        return None
    i = operator.index(i)
    return _INT64_MIN if i < _INT64_MIN else _INT64_MAX if i > _INT64_MAX else i


def _wait(block: bool, timeout: Optional[float]) -> Optional[float]:
    """The protocol's TIMEOUT for queue.Queue's (block, timeout), checked as
    queue.Queue checks it: a negative timeout is ValueError (TypeError for
    one that is not a number), a timeout is ignored when not block."""
    if not block:
        return 0
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    return float(timeout)


def _put_options(priority: int, delay: float) -> Tuple[Any, ...]:
    """queue.put's OPTIONS map as the args after TIMEOUT: none for a plain
    item (priority 0, no delay), whose request stays as short as ever."""
    opts: _DictT[str, Any] = {}
    if priority:
        if isinstance(priority, bool):
            raise TypeError("priority must be an int, not bool")
        opts["priority"] = operator.index(priority)
    if delay:
        if delay < 0:
            raise ValueError("'delay' must be a non-negative number")
        opts["delay"] = float(delay)
    return (opts,) if opts else ()


class _Proxy:
    """Common part of the proxies: a name and a client."""

    _type = ""
    __slots__ = ("_name", "_client", "__weakref__")

    def __init__(self, name: str, *, client: Optional[Client] = None) -> None:
        if not isinstance(name, str):
            raise TypeError("an ipcd object name is a str, not %s" % type(name).__name__)
        _Proxy._bind(self, name, client if client is not None else default_client())

    @staticmethod
    def _bind(obj: Any, name: str, client: Client) -> None:
        object.__setattr__(obj, "_name", name)
        object.__setattr__(obj, "_client", client)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_restore, (type(self), self._name, self._client.path))

    def __repr__(self) -> str:
        # What it is, without a request: its type and its name.
        return "ipcd.%s(%r)" % (type(self).__name__, self._name)

    @property
    def name(self) -> str:
        """The object's name in the daemon."""
        return self._name

    @property
    def client(self) -> Client:
        """The client this proxy sends its requests through."""
        return self._client

    def exists(self) -> bool:
        """True if the daemon holds an object of this name (of any type)."""
        return bool(self._client.call("exists", self._name))

    def delete(self) -> bool:
        """Delete the object (requests waiting on it get ipcd.Deleted);
        True if it existed. The next write makes a new, empty one."""
        return self._client.delete(self._name)


# ---- Queue ----------------------------------------------------------------------

class Queue(_Proxy):
    """A named FIFO queue with the interface of ``queue.Queue``.

    ``Queue(name, maxsize=0)``: maxsize > 0 creates the queue bounded (or
    checks that an existing one has the same bound: ipcd.Exists if not);
    0 uses the queue as it is, created unbounded by its first put.
    Blocking calls wait in the daemon, at no CPU cost; ``queue.Empty`` and
    ``queue.Full`` are raised as in the standard library (as ipcd.Empty and
    ipcd.Full, which are subclasses of them).
    """

    __slots__ = ()

    def __init__(self, name: str, maxsize: int = 0, *, client: Optional[Client] = None) -> None:
        super().__init__(name, client=client)
        if maxsize and maxsize > 0:
            self._client.call("create", name, "queue", {"maxsize": int(maxsize)})

    def _waiting(self, op: str, args: Tuple[Any, ...], block: bool, timeout: Optional[float],
                 nothing: type, after: Tuple[Any, ...] = ()) -> Any:
        """op(*args, TIMEOUT, *after). A timeout over threading.TIMEOUT_MAX
        is OverflowError, as queue.Queue raises it, only if the call would
        have to wait (nothing: Empty or Full): it is tried without waiting
        first."""
        t = _wait(block, timeout)
        if t is not None and t > threading.TIMEOUT_MAX:
            try:
                return self._client.call(op, *args, 0, *after)
            except nothing:
                raise OverflowError("timeout value is too large") from None
        return self._client.call(op, *args, t, *after)

    def _put_wait(self, block: bool, timeout: Optional[float]) -> Tuple[bool, Optional[float]]:
        """(block, timeout) for a put: queue.Queue looks at them only when it
        is bounded, so an unbounded queue (never full) takes any."""
        try:
            _wait(block, timeout)
        except (TypeError, ValueError):
            if self.maxsize:
                raise
            return True, None
        return block, timeout

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None,
            priority: int = 0, delay: float = 0) -> None:
        """Put item at the end; if the queue is full, wait (at most timeout
        seconds, if given) for room, or raise queue.Full at once if not block.

        A get takes the lowest ``priority`` first (any 64-bit int; FIFO
        among equals). An item put with a ``delay`` (seconds) is invisible
        to gets until then, and then joins the tail of its priority."""
        options = _put_options(priority, delay)
        block, timeout = self._put_wait(block, timeout)
        try:
            self._waiting("queue.put", (self._name, item), block, timeout, Full, options)
        except Timeout as e:
            raise Full("queue %r still full after %s s" % (self._name, timeout)) from e

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """Remove and return the oldest item; if the queue is empty, wait (at
        most timeout seconds, if given), or raise queue.Empty at once if not
        block."""
        try:
            return self._waiting("queue.get", (self._name,), block, timeout, Empty)
        except Timeout as e:
            raise Empty("queue %r still empty after %s s" % (self._name, timeout)) from e

    def put_nowait(self, item: Any, priority: int = 0, delay: float = 0) -> None:
        """put(item, block=False, priority=priority, delay=delay)."""
        self.put(item, False, priority=priority, delay=delay)

    def get_nowait(self) -> Any:
        """get(block=False)."""
        return self.get(False)

    def put_many(self, items: Iterable[Any], block: bool = True,
                 timeout: Optional[float] = None, priority: int = 0, delay: float = 0) -> None:
        """Put every item, in order, all at once: waits until all of them fit.
        More items than maxsize can never fit: queue.Full at once. priority
        and delay as for put(), for every item."""
        items = list(items)
        options = _put_options(priority, delay)
        if not items:
            return
        try:
            self._waiting("queue.put_many", (self._name, items), block, timeout, Full, options)
        except Timeout as e:
            raise Full("queue %r: no room for %d items after %s s"
                       % (self._name, len(items), timeout)) from e

    def get_many(self, n: int, block: bool = True, timeout: Optional[float] = None) -> _ListT[Any]:
        """Remove and return 1 to n of the oldest items (as many as there are,
        up to n); waits only while the queue is empty."""
        n = operator.index(n)
        if n < 1:
            raise ValueError("get_many: n must be at least 1")
        try:
            return self._waiting("queue.get_many", (self._name, n), block, timeout, Empty)
        except Timeout as e:
            raise Empty("queue %r still empty after %s s" % (self._name, timeout)) from e

    def qsize(self) -> int:
        """The number of items (exact at the moment the daemon answered)."""
        return self._client.call("queue.qsize", self._name)

    def empty(self) -> bool:
        """True if the queue holds no item."""
        return self.qsize() == 0

    def _stat(self) -> Tuple[int, int]:
        try:
            st = self._client.call("stat", self._name)
        except NotFound:
            return 0, 0
        return st["size"], int((st.get("options") or {}).get("maxsize", 0))

    @property
    def maxsize(self) -> int:
        """The queue's bound (0: unbounded)."""
        return self._stat()[1]

    def full(self) -> bool:
        """True if the queue is bounded and holds maxsize items or more
        (returned items may take it past maxsize; puts wait until it is
        back under)."""
        size, maxsize = self._stat()
        return 0 < maxsize <= size

    def clear(self) -> int:
        """Remove every item; returns how many. (Not in queue.Queue.)"""
        return self._client.call("queue.clear", self._name)

    # -- JoinableQueue: tasks are counted by the daemon, across processes
    def task_done(self, count: int = 1) -> None:
        """Mark count tasks got with get() as done (JoinableQueue.task_done).
        ValueError (ipcd.NoTask) if called more times than items were put."""
        self._client.call("queue.task_done", self._name, operator.index(count))

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait until every item ever put has been marked done by task_done()
        or ack(), in any process (JoinableQueue.join). With a timeout,
        ipcd.Timeout (a TimeoutError) if it passes first; a negative timeout
        is ValueError."""
        self._client.call("queue.join", self._name, _wait(True, timeout))

    # -- acknowledged delivery
    def get_ack(self, block: bool = True, timeout: Optional[float] = None,
                lease: Optional[float] = None, prefetch: int = 1) -> "Delivery":
        """Take the next item until it is acknowledged: returns a
        :class:`Delivery`; call its ack() when done, or nack() to put the item
        back. An item not acked within its lease (or whose consumer's
        connection closed) is delivered again. queue.Empty as get().

        ``prefetch=N`` (AMQP's basic.qos): when this thread holds no item
        taken ahead from this queue, take up to N ready ones in one request
        and hand the rest out to this thread's next get_ack() calls, without
        a round trip. Each is pending from the moment it was taken: its
        lease runs, and it is delivered again if this process dies."""
        prefetch = operator.index(prefetch)
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        ahead = self._taken_ahead()
        if ahead:
            return ahead.popleft()
        if prefetch > 1:
            first, *rest = self.get_ack_many(prefetch, block, timeout, lease)
            ahead.extend(rest)
            return first
        try:
            d = self._waiting("queue.get_ack", (self._name,), block, timeout, Empty,
                              () if lease is None else (lease,))
        except Timeout as e:
            raise Empty("queue %r still empty after %s s" % (self._name, timeout)) from e
        return Delivery(self, d["id"], d["value"], d.get("deliveries", 1))

    def get_ack_many(self, count: int, block: bool = True, timeout: Optional[float] = None,
                     lease: Optional[float] = None) -> "_ListT[Delivery]":
        """Take 1 to count ready items in one request, each pending until
        acked as if taken by get_ack(); waits (as get_ack) only while none is
        ready. The reply stops short of count rather than pass the daemon's
        max_output."""
        count = operator.index(count)
        if count < 1:
            raise ValueError("count must be at least 1")
        try:
            ds = self._waiting("queue.get_ack_many", (self._name, count), block, timeout, Empty,
                               () if lease is None else (lease,))
        except Timeout as e:
            raise Empty("queue %r still empty after %s s" % (self._name, timeout)) from e
        return [Delivery(self, d["id"], d["value"], d.get("deliveries", 1)) for d in ds]

    def _taken_ahead(self) -> "_deque[Delivery]":
        """This thread's deliveries of this queue taken ahead by get_ack(prefetch=N)."""
        per_thread = _taken_ahead.__dict__.setdefault("queues", {})
        return per_thread.setdefault((os.getpid(), id(self._client), self._name), _deque())


# Deliveries taken ahead, per thread (each thread has its own connection, on
# which they are pending), keyed by (pid, client, queue name): a forked child
# must not hand out what is pending on its parent's connection.
_taken_ahead = threading.local()


class Delivery:
    """An item taken with :meth:`Queue.get_ack`, pending until acked.

    ``value`` is the item, ``id`` its delivery id, ``deliveries`` how many
    times it has been handed out (1 the first time)."""

    __slots__ = ("queue", "id", "value", "deliveries")

    def __init__(self, queue: Queue, id: int, value: Any, deliveries: int) -> None:
        self.queue, self.id, self.value, self.deliveries = queue, id, value, deliveries

    def __repr__(self) -> str:
        return "ipcd.Delivery(%r, id=%d, value=%r)" % (self.queue.name, self.id, self.value)

    def ack(self) -> None:
        """Done with the item: the daemon drops it (and counts its task done)."""
        self.queue.client.call("queue.ack", self.queue.name, self.id)

    def nack(self, delay: Optional[float] = None) -> None:
        """Put the item back at the head of the queue, now or after delay s."""
        args: _ListT[Any] = [self.queue.name, self.id]
        if delay is not None:
            args.append(delay)
        self.queue.client.call("queue.nack", *args)

    def touch(self, lease: Optional[float] = None) -> float:
        """Renew the lease; returns the seconds left."""
        args: _ListT[Any] = [self.queue.name, self.id]
        if lease is not None:
            args.append(lease)
        return self.queue.client.call("queue.touch", *args)


JoinableQueue = Queue


# ---- Dict -------------------------------------------------------------------------

def _key(k: Any) -> Any:
    hash(k)  # like dict: TypeError for an unhashable key
    return k


class _Keys(KeysView):  # type: ignore[type-arg]
    pass


class _Values(ValuesView):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[Any]:
        return self._mapping._pages("dict.values")


class _Items(ItemsView):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[Tuple[Any, Any]]:
        return self._mapping._pages("dict.items")


class Dict(_Proxy, MutableMapping):  # type: ignore[type-arg]
    """A named dict: a ``collections.abc.MutableMapping``.

    Keys keep insertion order. Keys are compared by their msgpack encoding,
    not by Python's ``==``: ``1``, ``1.0`` and ``True`` are three different
    keys (one key in a dict). Keys must be hashable, as in a dict; a tuple
    key is stored as an array and read back as a tuple. Iterating (and
    ``keys()``, ``values()``, ``items()``) pages through the dict, 1000
    entries a request; changes made meanwhile by others may or may not be
    seen, and never raise. Plus ``incr`` and ``cas``, atomic in the daemon.
    """

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._client.call("dict.get", self._name, _key(key))
        except NoKey:
            raise NoKey.for_key(key) from None

    def __setitem__(self, key: Any, value: Any) -> None:
        self._client.call("dict.set", self._name, _key(key), value)

    def __delitem__(self, key: Any) -> None:
        try:
            self._client.call("dict.del", self._name, _key(key))
        except NoKey:
            raise NoKey.for_key(key) from None

    def __contains__(self, key: object) -> bool:
        return bool(self._client.call("dict.contains", self._name, _key(key)))

    def __len__(self) -> int:
        return self._client.call("dict.len", self._name)

    def _pages(self, op: str) -> Iterator[Any]:
        cursor = 0
        while True:
            cursor, page = self._client.call(op, self._name, cursor, PAGE)
            if op == "dict.items":
                yield from page.items()
            elif op == "dict.keys":
                for k in page:
                    yield _hashable(k)
            else:
                yield from page
            if cursor == 0:
                return

    def __iter__(self) -> Iterator[Any]:
        return self._pages("dict.keys")

    def keys(self) -> KeysView:  # type: ignore[type-arg]
        return _Keys(self)

    def values(self) -> ValuesView:  # type: ignore[type-arg]
        return _Values(self)

    def items(self) -> ItemsView:  # type: ignore[type-arg]
        return _Items(self)

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of key, else default (one request)."""
        return self._client.call("dict.get", self._name, _key(key), default)

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        """Remove key and return its value; default if missing, else KeyError."""
        if default is _MISSING:
            try:
                return self._client.call("dict.pop", self._name, _key(key))
            except NoKey:
                raise NoKey.for_key(key) from None
        return self._client.call("dict.pop", self._name, _key(key), default)

    def popitem(self) -> Tuple[Any, Any]:
        """Remove and return the most recently inserted (key, value)."""
        try:
            k, v = self._client.call("dict.popitem", self._name)
        except NoKey:
            raise NoKey("popitem(): dictionary is empty") from None
        return _hashable(k), v

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """The value of key, setting it to default first if missing (atomic)."""
        return self._client.call("dict.setdefault", self._name, _key(key), default)

    def update(self, other: Any = (), /, **kw: Any) -> None:  # type: ignore[override]
        """Set every key of other (a mapping or (key, value) pairs) and of kw,
        all at once."""
        m: _DictT[Any, Any] = {}
        if isinstance(other, Dict):
            m.update(other.items())
        elif hasattr(other, "keys"):
            for k in other.keys():
                m[k] = other[k]
        else:
            for k, v in other:
                m[k] = v
        m.update(kw)
        if m:
            self._client.call("dict.update", self._name, m)

    def clear(self) -> None:
        """Remove every key."""
        self._client.call("dict.clear", self._name)

    def copy(self) -> _DictT[Any, Any]:
        """The content as a plain dict."""
        return dict(self.items())

    def incr(self, key: Any, delta: Union[int, float] = 1) -> Union[int, float]:
        """Atomically add delta to the value of key (missing counts as 0) and
        return the new value. ipcd.NotNumber (a TypeError) if the value is
        not a number; ipcd.Overflow past the 64-bit integer range."""
        return self._client.call("dict.incr", self._name, _key(key), delta)

    def cas(self, key: Any, expected: Any, new: Any) -> bool:
        """Atomically set key to new if its value is expected (compared by
        encoding; a missing key counts as None). True if it was set."""
        return bool(self._client.call("dict.cas", self._name, _key(key), expected, new))


# ---- List ----------------------------------------------------------------------------

def _index(i: Any) -> int:
    try:
        return operator.index(i)
    except TypeError:
        raise TypeError("list indices must be integers or slices, not %s"
                        % type(i).__name__) from None


class List(_Proxy, MutableSequence):  # type: ignore[type-arg]
    """A named list: a ``collections.abc.MutableSequence`` with Python's
    index and slice rules, including extended slices.

    Single-item methods are one atomic request. Reading a slice is one
    request (atomic). Assigning or deleting a slice, ``sort`` and ``*=``
    are several requests sent at once (a pipeline): other clients' requests
    may run between them. ``pop`` can also wait for an item (``block=True``
    or a ``timeout``) at either end.
    """

    __slots__ = ()

    def __len__(self) -> int:
        return self._client.call("list.len", self._name)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> _ListT[Any]: ...

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            start, stop = _clamp(i.start), _clamp(i.stop)
            step = 1 if i.step is None else operator.index(i.step)
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if step == 1:
                return self._client.call("list.range", self._name, start, stop)
            if step > 0:  # a[start:stop:step] == a[start:stop][::step]
                return self._client.call("list.range", self._name, start, stop)[::step]
            return self._client.call("list.range", self._name)[start:stop:step]
        try:
            return self._client.call("list.get", self._name, _clamp(_index(i)))
        except Index:
            raise Index("list index out of range") from None

    def __setitem__(self, i: Any, value: Any) -> None:
        if not isinstance(i, slice):
            try:
                self._client.call("list.set", self._name, _clamp(_index(i)), value)
            except Index:
                raise Index("list assignment index out of range") from None
            return
        values = list(value)
        n = len(self)
        start, stop, step = i.indices(n)
        calls = []
        if step == 1:
            stop = max(stop, start)
            k, m = stop - start, len(values)
            for j in range(min(k, m)):
                calls.append(("list.set", (self._name, start + j, values[j])))
            for _ in range(k - m):
                calls.append(("list.pop", (self._name, start + m)))
            for j in range(k, m):
                calls.append(("list.insert", (self._name, start + j, values[j])))
        else:
            idx = range(start, stop, step)
            if len(idx) != len(values):
                raise ValueError("attempt to assign sequence of size %d to extended slice of size %d"
                                 % (len(values), len(idx)))
            calls = [("list.set", (self._name, j, v)) for j, v in zip(idx, values)]
        self._client.pipeline(calls)

    def __delitem__(self, i: Any) -> None:
        if not isinstance(i, slice):
            try:
                self._client.call("list.pop", self._name, _clamp(_index(i)))
            except Index:
                raise Index("list assignment index out of range") from None
            return
        idx = sorted(range(*i.indices(len(self))), reverse=True)
        self._client.pipeline([("list.pop", (self._name, j)) for j in idx])

    def insert(self, index: int, value: Any) -> None:
        """Insert value before index (past either end: at that end)."""
        self._client.call("list.insert", self._name, _clamp(_index(index)), value)

    def append(self, value: Any) -> None:
        self._client.call("list.append", self._name, value)

    def extend(self, values: Iterable[Any]) -> None:
        """Append every value, all at once."""
        items = list(values)
        if items:
            self._client.call("list.extend", self._name, items)

    def pop(self, index: int = -1, *, block: bool = False,  # type: ignore[override]
            timeout: Optional[float] = None) -> Any:
        """Remove and return the item at index (default the last).

        With ``block=True`` or a ``timeout``, index must be 0 or -1, and an
        empty list is waited on (at most timeout seconds, if given) for an
        item to take from that end; IndexError (ipcd.Index) if none came."""
        index = _index(index)
        if block or timeout is not None:
            if index not in (0, -1):
                raise ValueError("a blocking pop takes from either end: index 0 or -1")
            if timeout is not None and timeout < 0:
                raise ValueError("'timeout' must be a non-negative number")
            op = "list.blpop" if index == 0 else "list.brpop"
            try:
                return self._client.call(op, self._name, timeout)
            except (Empty, Timeout):
                raise Index("pop from empty list (waited %s s)" % (timeout,)) from None
        try:
            return self._client.call("list.pop", self._name, _clamp(index))
        except Index as e:
            raise Index("pop from empty list" if "empty" in e.message else
                        "pop index out of range") from None

    def remove(self, value: Any) -> None:
        """Remove the first item equal to value; ValueError if none."""
        try:
            self._client.call("list.remove", self._name, value)
        except NoValue:
            raise NoValue("list.remove(x): x not in list") from None

    def index(self, value: Any, start: int = 0, stop: Optional[int] = None) -> int:
        """Index of the first item equal to value in self[start:stop]."""
        try:
            return self._client.call("list.index", self._name, value, _clamp(start), _clamp(stop))
        except NoValue:
            raise NoValue("%r is not in list" % (value,)) from None

    def count(self, value: Any) -> int:
        return self._client.call("list.count", self._name, value)

    def __contains__(self, value: object) -> bool:
        return bool(self._client.call("list.contains", self._name, value))

    def reverse(self) -> None:
        """Reverse in place (atomic)."""
        self._client.call("list.reverse", self._name)

    def clear(self) -> None:
        self._client.call("list.clear", self._name)

    def __iter__(self) -> Iterator[Any]:
        i = 0
        while True:
            page = self._client.call("list.range", self._name, i, i + PAGE)
            yield from page
            if len(page) < PAGE:
                return
            i += len(page)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self[:])

    def copy(self) -> _ListT[Any]:
        """The content as a plain list (one request)."""
        return self[:]

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        """Sort in place: read, sort here, then clear and extend (a pipeline,
        not atomic)."""
        items = self[:]
        items.sort(key=key, reverse=reverse)
        self._client.pipeline([("list.clear", (self._name,))] +
                              ([("list.extend", (self._name, items))] if items else []))

    def __iadd__(self, values: Iterable[Any]) -> "List":
        self.extend(values)
        return self

    def __imul__(self, n: int) -> "List":
        n = operator.index(n)
        if n <= 0:
            self.clear()
        elif n > 1:
            self.extend(self[:] * (n - 1))
        return self

    def __add__(self, other: Iterable[Any]) -> _ListT[Any]:
        return self[:] + list(other)

    def __radd__(self, other: Iterable[Any]) -> _ListT[Any]:
        return list(other) + self[:]

    def __mul__(self, n: int) -> _ListT[Any]:
        return self[:] * n

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, List):
            return self[:] == other[:]
        if isinstance(other, list):
            return self[:] == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


# ---- Namespace ---------------------------------------------------------------------

class Namespace:
    """A named bag of attributes, like ``types.SimpleNamespace``:
    ``ns.x = 1``, ``ns.x``, ``del ns.x`` (AttributeError when unset).

    It has no public methods, so that every attribute name is yours; the
    whole content is ``ns._asdict()``, comparison with a SimpleNamespace or
    another Namespace compares contents.
    """

    __slots__ = ("_ipcd_name", "_ipcd_client", "__weakref__")

    def __init__(self, name: str, *, client: Optional[Client] = None, **attrs: Any) -> None:
        """``Namespace(name, x=1)`` also sets the attributes given."""
        if not isinstance(name, str):
            raise TypeError("an ipcd object name is a str, not %s" % type(name).__name__)
        object.__setattr__(self, "_ipcd_name", name)
        object.__setattr__(self, "_ipcd_client", client if client is not None else default_client())
        for k, v in attrs.items():
            setattr(self, k, v)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_restore_ns, (self._ipcd_name, self._ipcd_client.path))

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__") or attr in Namespace.__slots__:
            raise AttributeError(attr)
        try:
            return self._ipcd_client.call("ns.get", self._ipcd_name, attr)
        except NoKey:
            raise AttributeError("ipcd.Namespace %r has no attribute %r" % (self._ipcd_name, attr)) from None

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in Namespace.__slots__:
            raise AttributeError("%r is the proxy's own attribute" % attr)
        self._ipcd_client.call("ns.set", self._ipcd_name, attr, value)

    def __delattr__(self, attr: str) -> None:
        try:
            self._ipcd_client.call("ns.del", self._ipcd_name, attr)
        except NoKey:
            raise AttributeError("ipcd.Namespace %r has no attribute %r" % (self._ipcd_name, attr)) from None

    def _asdict(self) -> _DictT[str, Any]:
        """Every attribute and its value (one request)."""
        return self._ipcd_client.call("ns.all", self._ipcd_name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Namespace):
            return self._asdict() == other._asdict()
        if isinstance(other, SimpleNamespace):
            return self._asdict() == vars(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "ipcd.Namespace(%r)" % (self._ipcd_name,)

    def __dir__(self) -> Iterable[str]:
        return sorted(self._asdict())
