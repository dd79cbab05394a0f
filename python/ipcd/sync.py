"""Synchronisation proxies held by the daemon, with the signatures and
behaviour of ``threading``'s and ``multiprocessing``'s: Lock, RLock,
Semaphore, BoundedSemaphore, Event, Condition and Barrier.

A lock (a semaphore's units, a place at a barrier) is held by the
connection that took it. ipcd's deliberate difference from the Manager: when
that connection closes (the process exits, crashes or is killed) what it
held is given back, and the next acquirer of such a lock is told in
:attr:`Lock.owner_died` that the state the lock guarded may be half-changed.
``robust=False`` keeps the Manager's behaviour (the lock stays held), for
code that hands a lock from one process to another.
"""
import operator
import os
import threading
from typing import Any, Callable, Optional, Tuple

from .client import Client
from .errors import Error, Timeout
from .proxies import _Proxy

__all__ = ["Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event", "Condition", "Barrier", "Value", "Array"]


def _acquire_timeout(blocking: bool, timeout: float) -> Optional[float]:
    """The protocol's TIMEOUT for threading's (blocking, timeout=-1)."""
    if not blocking:
        if timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        return 0
    if timeout == -1:
        return None
    if timeout < 0:
        raise ValueError("timeout value must be positive")
    if timeout > threading.TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return timeout


def _wait_timeout(timeout: Optional[float]) -> Optional[float]:
    """The protocol's TIMEOUT for an Event's or Condition's wait(timeout=None):
    as threading's, a negative timeout does not wait."""
    if timeout is None:
        return None
    if timeout > threading.TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return max(timeout, 0)


def _is(e: Error, wire: str) -> bool:
    return e.wire_name == wire


def _create(client: Client, name: str, kind: str, options: dict) -> None:
    """Create name with options, or check an existing one has them."""
    client.call("create", name, kind, options)


def _waiting_call(client: Client, op: str, args: Tuple[Any, ...],
                  undo: Optional[Callable[[Any], None]] = None) -> Any:
    """client.call(op, *args) for a waiting op, such that an exception while
    it waits (KeyboardInterrupt) ends the wait on the thread's own
    connection (``cancel``), keeping what that connection holds, as
    threading's interrupted waits keep the thread's other locks. If the
    answer came anyway and granted what was asked, undo(result) gives it
    back, since the caller never learns it had it. If the answer is not
    known (read just as the exception came, or the request never sent) and
    there is something to give back, the connection is closed instead,
    giving back whatever it held, as any interrupted call used to."""
    ended: list = []
    try:
        return client._call_cancelling(op, args, ended.append)
    except BaseException:
        if ended:
            answer = ended[0]
            if answer is None:
                if undo is not None:   # granted and lost, or never asked: unknown, so close
                    client._abandon()
            elif answer[0] == 0 and undo is not None:
                undo(answer[1])
        raise


# What each thread has taken through lock-like proxies and not given back:
# {(pid, socket path, lock name): acquisitions}. A Condition wait that is
# interrupted takes its lock back that many times (threading's RLock count).
# A thread-local, so nothing here asks threading for the current thread.
_taken = threading.local()


def _taken_counts() -> dict:
    try:
        return _taken.counts
    except AttributeError:
        _taken.counts = {}
        return _taken.counts


class _Held(_Proxy):
    """A lock-like proxy: acquire, release, a context manager."""

    __slots__ = ("_owner_died",)
    _op = ""

    def _init_held(self) -> None:
        object.__setattr__(self, "_owner_died", False)

    def _lock_name(self) -> str:
        """The name of the lock object acquire and release work on."""
        return self._name

    def _taken_key(self) -> Tuple[int, str, str]:
        return (os.getpid(), self._client.path, self._lock_name())

    def _note_taken(self, n: int) -> None:
        counts, key = _taken_counts(), self._taken_key()
        left = counts.get(key, 0) + n
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take it, waiting at most timeout seconds (-1: for ever; not at all
        if not blocking); True if taken."""
        t = _acquire_timeout(blocking, timeout)
        try:
            r = _waiting_call(self._client, self._op + ".acquire", (self._name, t),
                              lambda _r: self._client.call(self._op + ".release", self._name))
        except Timeout:
            return False
        self._note_taken(1)
        object.__setattr__(self, "_owner_died", bool(r.get("owner_died")))
        return True

    def release(self) -> None:
        """Give it back; RuntimeError if it is not held (by this connection,
        for a reentrant lock)."""
        try:
            self._client.call(self._op + ".release", self._name)
        except Error as e:
            if _is(e, "NOTHELD"):
                raise RuntimeError("release unlocked lock" if type(self) is Lock
                                   else "cannot release un-acquired lock") from None
            raise
        self._note_taken(-1)

    @property
    def owner_died(self) -> bool:
        """True if the last acquire through this proxy took the lock from a
        holder whose connection had closed while holding it."""
        return self._owner_died

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


class Lock(_Held):
    """``threading.Lock`` held by the daemon: any connection may release it.

    ``Lock(name, robust=True)``: robust (the default) frees the lock when its
    holder's connection closes; robust=False keeps it held (the Manager's
    behaviour)."""

    __slots__ = ()
    _op = "lock"
    _reentrant = False

    def __init__(self, name: str, *, robust: bool = True, client: Optional[Client] = None) -> None:
        super().__init__(name, client=client)
        self._init_held()
        _create(self._client, name, "lock", {"reentrant": self._reentrant, "robust": bool(robust)})

    def locked(self) -> bool:
        """True if some connection holds it."""
        return bool(self._client.call("lock.locked", self._name))

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_restore_held, (type(self), self._name, self._client.path))


class RLock(Lock):
    """``threading.RLock`` held by the daemon: its owner (this connection;
    in a threaded program, this thread's) may take it again, and only its
    owner releases it, once per acquisition."""

    __slots__ = ()
    _reentrant = True


def _restore_held(cls: type, name: str, path: str) -> Any:
    from .proxies import _restore
    obj = _restore(cls, name, path)
    obj._init_held()
    return obj


class Semaphore(_Proxy):
    """``threading.Semaphore`` (``multiprocessing``'s, with get_value()) held
    by the daemon: the units a connection took come back when it closes."""

    __slots__ = ()
    _bounded = False

    def __init__(self, name: str, value: int = 1, *, client: Optional[Client] = None) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        super().__init__(name, client=client)
        _create(self._client, name, "semaphore", {"value": int(value), "bounded": self._bounded})

    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """Take a unit, waiting at most timeout seconds (None: for ever; not
        at all if not blocking); True if taken."""
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        if blocking and timeout is not None and timeout > threading.TIMEOUT_MAX:
            if self.acquire(False):   # threading's refuses it only when it would wait
                return True
        t = 0 if not blocking else _wait_timeout(timeout)
        try:
            _waiting_call(self._client, "semaphore.acquire", (self._name, 1, t),
                          lambda _r: self._client.call("semaphore.release", self._name, 1))
        except Timeout:
            return False
        return True

    def release(self, n: int = 1) -> None:
        """Give n units back."""
        if n < 1:
            raise ValueError("n must be one or more")
        try:
            self._client.call("semaphore.release", self._name, int(n))
        except Error as e:
            if _is(e, "FULL"):
                raise ValueError("Semaphore released too many times") from None
            raise

    def get_value(self) -> int:
        """The units free now."""
        return int(self._client.call("semaphore.value", self._name))

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    """``threading.BoundedSemaphore``: a release past the initial value
    raises ValueError."""

    __slots__ = ()
    _bounded = True


class Event(_Proxy):
    """``threading.Event`` held by the daemon."""

    __slots__ = ()

    def is_set(self) -> bool:
        """The flag."""
        return bool(self._client.call("event.is_set", self._name))

    def set(self) -> None:
        """Set the flag: every wait ends."""
        self._client.call("event.set", self._name)

    def clear(self) -> None:
        """Clear the flag."""
        self._client.call("event.clear", self._name)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until the flag is set (at most timeout seconds); the flag."""
        if timeout is not None and timeout > threading.TIMEOUT_MAX and self.is_set():
            return True   # threading's refuses it only when it would wait
        return bool(_waiting_call(self._client, "event.wait", (self._name, _wait_timeout(timeout))))


class Condition(_Held):
    """``threading.Condition`` held by the daemon. ``Condition(name,
    lock=None)``: lock, an ipcd :class:`Lock` or :class:`RLock`, is the lock
    it waits with; without one the condition has a reentrant lock of its own,
    as threading's default RLock."""

    __slots__ = ("_lock", "_lock_reentrant")
    _op = "condition"

    def __init__(self, name: str, lock: Optional[Lock] = None, *, client: Optional[Client] = None) -> None:
        super().__init__(name, client=client)
        self._init_held()
        if lock is not None and not isinstance(lock, Lock):
            raise TypeError("an ipcd Condition's lock is an ipcd.Lock or ipcd.RLock")
        object.__setattr__(self, "_lock", lock.name if lock is not None else None)
        object.__setattr__(self, "_lock_reentrant", lock._reentrant if lock is not None else True)
        _create(self._client, name, "condition", {"lock": lock.name} if lock is not None else {})

    def _lock_name(self) -> str:
        return self._lock if self._lock is not None else self._name

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_restore_condition, (self._name, self._client.path, self._lock, self._lock_reentrant))

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Give the lock up, wait for a notify (at most timeout seconds),
        take the lock back; False if the time ran out. RuntimeError if the
        lock is not held.

        Interrupted (KeyboardInterrupt, or any exception a signal handler
        raises), it holds the lock again before the exception goes on, as
        threading's does: the daemon is asked to end the wait (``cancel``),
        which it does as a timeout would, taking the lock back with its
        count, and a notify the wait had been given is passed on to the next
        wait. The thread's connection stays open, so whatever else it holds
        stays held. Only if that connection broke meanwhile (or a second
        interrupt came while the wait was being ended) is the lock taken
        again on a new connection, as many times as this thread held it."""
        t = _wait_timeout(timeout)
        ended: list = []
        try:
            r = self._client._call_cancelling("condition.wait", (self._name, t), ended.append)
        except Error as e:
            if _is(e, "NOTHELD"):
                raise RuntimeError("cannot wait on un-acquired lock") from None
            raise
        except BaseException:
            if ended:
                self._after_cancel(ended[0])
            else:
                self._client._abandon()   # however far the call got, the daemon now holds nothing of it
                self._take_back()
            raise
        object.__setattr__(self, "_owner_died", bool(r.get("owner_died")))
        return bool(r.get("notified"))

    def _after_cancel(self, answer: Optional[Tuple[int, Any]]) -> None:
        """An interrupted wait was ended by the daemon, whose answer was
        answer ((status, result), or None if it was read and lost)."""
        if answer is None:
            try:   # a zero wait gives nothing up: it only says whether the lock is held
                self._client.call("condition.wait", self._name, 0)
                return
            except Error as e:
                if not _is(e, "NOTHELD"):
                    raise
            self._take_back()
            return
        status, r = answer
        if status:
            self._take_back()   # the wait failed (its lock deleted, ...): it holds nothing
            return
        object.__setattr__(self, "_owner_died", bool(r.get("owner_died")))
        if r.get("notified"):
            self._client.call("condition.notify", self._name, 1)   # not ours to keep

    def _take_back(self) -> None:
        """After an interrupted wait whose connection closed: hold the lock
        again as before it, on the thread's new connection."""
        counts, key = _taken_counts(), self._taken_key()
        n = max(1, counts.get(key, 1)) if self._lock_reentrant else 1
        counts.pop(key, None)
        for _ in range(n):
            r = self._client.call("condition.acquire", self._name, None)
            self._note_taken(1)
            object.__setattr__(self, "_owner_died", bool(r.get("owner_died")))

    def wait_for(self, predicate: Callable[[], Any], timeout: Optional[float] = None) -> Any:
        """Wait until predicate() is true (at most timeout seconds in all);
        the predicate's last result."""
        import time
        end = None if timeout is None else time.monotonic() + timeout
        result = predicate()
        while not result:
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.wait(left)
            else:
                self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake the n oldest waits. RuntimeError if the lock is not held."""
        self._notify("condition.notify", self._name, int(n))

    def notify_all(self) -> None:
        """Wake every wait. RuntimeError if the lock is not held."""
        self._notify("condition.notify_all", self._name)

    def _notify(self, op: str, *args: Any) -> None:
        try:
            self._client.call(op, *args)
        except Error as e:
            if _is(e, "NOTHELD"):
                raise RuntimeError("cannot notify on un-acquired lock") from None
            raise


class Barrier(_Proxy):
    """``threading.Barrier`` held by the daemon: ``Barrier(name, parties,
    action=None, timeout=None)``. A party whose connection closes while it
    waits breaks the barrier for the others (threading.BrokenBarrierError),
    as a timeout or abort() does.

    action, a callable, runs in the last party to arrive before any party
    is released (the daemon holds the others until it has run); if it
    raises, the barrier breaks for every party and the last one gets the
    exception. The action and the default timeout are kept when the proxy is
    pickled, so a spawned process's copy runs the same action: it must then
    be picklable (a module-level function, not a lambda)."""

    __slots__ = ("_action", "_timeout")

    def __init__(self, name: str, parties: int, action: Optional[Callable[[], Any]] = None,
                 timeout: Optional[float] = None, *, client: Optional[Client] = None) -> None:
        if parties < 1:
            raise ValueError("parties must be >= 1")
        if action is not None and not callable(action):
            raise TypeError("action must be callable")
        super().__init__(name, client=client)
        object.__setattr__(self, "_action", action)
        object.__setattr__(self, "_timeout", timeout)
        _create(self._client, name, "barrier", {"parties": int(parties)})

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_restore_barrier, (self._name, self._client.path, self._timeout, self._action))

    def wait(self, timeout: Optional[float] = None) -> int:
        """Wait until every party has arrived; this party's arrival index
        (0 first, parties - 1 last). threading.BrokenBarrierError if the
        barrier breaks (a timeout, abort(), reset(), a party gone, the
        action raising in another party)."""
        if timeout is None:
            timeout = self._timeout
        t = _wait_timeout(timeout)
        try:
            # Interrupted, the wait ends as a timeout would: the barrier
            # breaks for every party, as threading's does.
            if self._action is None:
                return int(_waiting_call(self._client, "barrier.wait", (self._name, t)))
            r = _waiting_call(self._client, "barrier.wait", (self._name, t, {"action": True}),
                              self._give_up_action)
            if r.get("action"):
                self._run_action()
            return int(r["index"])
        except Error as e:
            if _is(e, "BROKEN"):
                raise threading.BrokenBarrierError() from None
            raise

    def _give_up_action(self, r: Any) -> None:
        """An interrupted wait was answered anyway: if it was to run the
        action, the others are held for it; break the round instead."""
        if isinstance(r, dict) and r.get("action"):
            try:
                self._client.call("barrier.done", self._name, False)
            except Error:
                pass

    def _run_action(self) -> None:
        """Run the action while the round is held, then tell the daemon how
        it went: a failure (any exception, KeyboardInterrupt too) breaks the
        barrier for every party and propagates here."""
        try:
            self._action()
        except BaseException:
            try:
                self._client.call("barrier.done", self._name, False)
            except Error:
                pass   # broken already: the exception is the news
            raise
        self._client.call("barrier.done", self._name, True)

    def reset(self) -> None:
        """Back to empty and unbroken; waits now end BrokenBarrierError."""
        self._client.call("barrier.reset", self._name)

    def abort(self) -> None:
        """Break the barrier, for waits now and later until reset()."""
        self._client.call("barrier.abort", self._name)

    @property
    def parties(self) -> int:
        return int(self._client.call("barrier.parties", self._name))

    @property
    def n_waiting(self) -> int:
        return int(self._client.call("barrier.n_waiting", self._name))

    @property
    def broken(self) -> bool:
        return bool(self._client.call("barrier.broken", self._name))


def _restore_condition(name: str, path: str, lock: Optional[str], reentrant: bool) -> "Condition":
    obj = _restore_held(Condition, name, path)
    object.__setattr__(obj, "_lock", lock)
    object.__setattr__(obj, "_lock_reentrant", reentrant)
    return obj


def _restore_barrier(name: str, path: str, timeout: Optional[float],
                     action: Optional[Callable[[], Any]] = None) -> "Barrier":
    from .proxies import _restore
    obj = _restore(Barrier, name, path)
    object.__setattr__(obj, "_timeout", timeout)
    object.__setattr__(obj, "_action", action)
    return obj


# ---- shared values and arrays ----------------------------------------------------

_TYPECODES = "bBhHiIlLqQfdc"


def _map(client: Client, op: str, name: str, writable: bool) -> memoryview:
    """The shared memory of value or array name, mapped: a memoryview of
    its elements cast to its typecode, read-only unless writable (which
    needs w access). The descriptor is closed once mapped; the mapping
    lasts until the view is released (``with`` or ``.release()``) or
    collected."""
    import mmap
    info, fd = client.call_fd(op, name, "rw" if writable else "r")
    try:
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        mm = mmap.mmap(fd, int(info["size"]), flags=mmap.MAP_SHARED, prot=prot)
    finally:
        os.close(fd)
    n = int(info["length"]) * int(info["itemsize"])
    with memoryview(mm) as whole:
        return whole[:n].cast(str(info["typecode"]))


class Value(_Proxy):
    """``multiprocessing.Value`` held by the daemon: ``Value(name, typecode,
    init=0)`` with a typecode of Python's ``array`` module (``'i'``,
    ``'d'``, ...) or ``'c'`` (one byte). ``.value`` (and get()/set(), as the
    Manager's Value has them) reads and writes it; ``add(n)`` adds atomically
    in the daemon and returns the new value, so the lesson's racy
    ``counter.value += 1`` becomes ``counter.add(1)``. get_lock() gives an
    ipcd Lock for a longer critical section, as multiprocessing's does."""

    __slots__ = ()
    _kind = "value"

    def __init__(self, name: str, typecode: str, init: Any = 0, *, client: Optional[Client] = None) -> None:
        if typecode not in _TYPECODES or len(typecode) != 1:
            raise ValueError("bad typecode (must be one of %s)" % ", ".join(_TYPECODES))
        super().__init__(name, client=client)
        if isinstance(init, bool):
            init = int(init)
        if typecode == "c" and isinstance(init, int):
            init = bytes([init])
        _create(self._client, name, "value", {"typecode": typecode, "init": init})

    @property
    def value(self) -> Any:
        return self._client.call("value.get", self._name)

    @value.setter
    def value(self, v: Any) -> None:
        self.set(v)

    def get(self) -> Any:
        return self.value

    def set(self, v: Any) -> None:
        if isinstance(v, bool):
            v = int(v)
        self._client.call("value.set", self._name, v)

    def add(self, n: Any = 1) -> Any:
        """Add n atomically; the new value (ipcd.Overflow past the type's range)."""
        return self._client.call("value.add", self._name, n)

    def compare_and_set(self, expected: Any, new: Any) -> bool:
        """Set to new if it holds expected; True if it did."""
        swapped, _ = self._client.call("value.cas", self._name, expected, new)
        return bool(swapped)

    @property
    def typecode(self) -> str:
        return str(self._client.call("value.typecode", self._name))

    def map(self, writable: bool = False) -> memoryview:
        """The value's shared memory as a memoryview of one element (index
        0), read-only unless writable. Reads and writes through it are plain
        loads and stores of the shared element: the daemon's get/set/add see
        them at once, and the view sees theirs. Python has no atomic
        read-modify-write on memory, so ``m[0] += 1`` from two processes can
        lose updates: ``add()`` is the atomic increment (libipcd's mapped
        atomics are C's). Use it as ``with v.map() as m:`` to unmap on exit."""
        return _map(self._client, "value.map", self._name, writable)

    def get_lock(self) -> Lock:
        """The ipcd Lock named after this value (NAME.lock)."""
        return Lock(self._name + ".lock", client=self._client)

    def get_obj(self) -> "Value":
        return self


class Array(_Proxy):
    """``multiprocessing.Array`` held by the daemon: ``Array(name, typecode,
    size_or_init)``; indexing and slicing (no step) as a list's, len(),
    ``add(i, n)`` atomic in the daemon, get_lock()."""

    __slots__ = ()

    def __init__(self, name: str, typecode: str, size_or_init: Any, *, client: Optional[Client] = None) -> None:
        if typecode not in _TYPECODES or len(typecode) != 1:
            raise ValueError("bad typecode (must be one of %s)" % ", ".join(_TYPECODES))
        super().__init__(name, client=client)
        if isinstance(size_or_init, int):
            opts: dict = {"typecode": typecode, "length": size_or_init}
        else:
            init = [int(v) if isinstance(v, bool) else v for v in size_or_init]
            if typecode == "c" and isinstance(size_or_init, (bytes, bytearray)):
                init = [bytes([b]) for b in size_or_init]
            opts = {"typecode": typecode, "init": init}
        _create(self._client, name, "array", opts)

    def __len__(self) -> int:
        return int(self._client.call("array.len", self._name))

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            start, stop = self._bounds(i)
            return self._client.call("array.slice", self._name, start, stop)
        return self._client.call("array.get", self._name, operator.index(i))

    def __setitem__(self, i: Any, v: Any) -> None:
        if isinstance(i, slice):
            start, stop = self._bounds(i)
            self._client.call("array.set_slice", self._name, start, stop, list(v))
            return
        if isinstance(v, bool):
            v = int(v)
        self._client.call("array.set", self._name, operator.index(i), v)

    @staticmethod
    def _bounds(s: slice) -> Tuple[Optional[int], Optional[int]]:
        if s.step not in (None, 1):
            raise ValueError("ipcd arrays take slices without a step")
        return s.start, s.stop

    def __iter__(self) -> Any:
        return iter(self[:])

    def add(self, i: int, n: Any = 1) -> Any:
        """Add n to element i atomically; its new value."""
        return self._client.call("array.add", self._name, operator.index(i), n)

    @property
    def typecode(self) -> str:
        return str(self._client.call("array.typecode", self._name))

    def map(self, writable: bool = False) -> memoryview:
        """The array's shared memory as a memoryview of its elements, cast
        to its typecode (``'c'`` elements are bytes of one), read-only
        unless writable (which needs w access). As for Value.map: plain
        loads and stores that server-side ops see and that see theirs, no
        atomic read-modify-write (``add()`` is the atomic one); ``with
        a.map(True) as m:`` unmaps on exit."""
        return _map(self._client, "array.map", self._name, writable)

    def get_lock(self) -> Lock:
        """The ipcd Lock named after this array (NAME.lock)."""
        return Lock(self._name + ".lock", client=self._client)

    def get_obj(self) -> "Array":
        return self
