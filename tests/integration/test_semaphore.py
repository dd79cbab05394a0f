"""semaphore: threading.Semaphore and BoundedSemaphore for processes. FIFO
acquirers of N units, release from anyone, FULL for a bounded release past
the initial value, and the units of a connection that closes come back
(robust, the default), from the releaser's own count first."""
import random
import threading
import time

import pytest

from actors import Actor, ProcessClient
from ipcd_testlib import NOT_LATE
from ipcwire import E, wait_until
from syncpeers import Peer, cleanup


def test_acquire_release_value(client, client2):
    assert client.ok("semaphore.value", "S") == 1          # a missing one reads as a fresh one
    client.ok("create", "S", "semaphore", {"value": 3})
    assert client.ok("semaphore.acquire", "S") == 2
    assert client.ok("semaphore.acquire", "S", 2) == 0
    assert client2.err("semaphore.acquire", "S", 1, 0) == E.TIMEOUT
    assert client2.ok("semaphore.release", "S") == 1        # anyone may release
    assert client2.ok("semaphore.release", "S", 5) == 6     # unbounded: past the initial value
    assert client.err("semaphore.acquire", "S", 0) == E.BADARG
    assert client.err("semaphore.release", "S", 0) == E.BADARG
    st = client.ok("stat", "S")
    assert st["options"] == {"value": 3, "bounded": False, "robust": True}
    assert st["value"] == 6 and st["acquired"] == 3


def test_bounded_refuses_a_release_past_its_bound(client):
    client.ok("create", "B", "semaphore", {"value": 2, "bounded": True})
    assert client.err("semaphore.release", "B") == E.FULL
    client.ok("semaphore.acquire", "B", 2)
    assert client.err("semaphore.release", "B", 3) == E.FULL
    assert client.ok("semaphore.release", "B", 2) == 2
    assert client.err("semaphore.acquire", "B", 3) == E.BADARG   # can never be free
    assert client.err("create", "B2", "semaphore", {"value": -1}) == E.BADARG


def test_timeout_is_never_early(client):
    client.ok("create", "S", "semaphore", {"value": 0})
    t0 = time.monotonic()
    assert client.err("semaphore.acquire", "S", 1, 0.25) == E.TIMEOUT
    assert time.monotonic() - t0 >= 0.25


def test_fifo_a_big_request_is_not_overtaken(daemon, client):
    client.ok("create", "S", "semaphore", {"value": 0})
    big, small = daemon.connect(name="big"), daemon.connect(name="small")
    big.send("semaphore.acquire", "S", 3, 30)
    wait_until(lambda: client.ok("stat", "S")["waiting"] == 1)
    small.send("semaphore.acquire", "S", 1, 30)
    wait_until(lambda: client.ok("stat", "S")["waiting"] == 2)
    client.ok("semaphore.release", "S", 2)        # enough for small, not for big: both wait
    assert client.ok("stat", "S")["waiting"] == 2
    client.ok("semaphore.release", "S", 2)
    assert big.recv().result == 1
    assert small.recv().result == 0


def test_a_closed_connections_units_come_back(daemon, client):
    client.ok("create", "S", "semaphore", {"value": 3, "bounded": True})
    peers = [Peer(daemon.sock_path, [["semaphore.acquire", "S", 2]], hold=True)]
    try:
        assert peers[0].reply()[:2] == (0, 1)
        st = client.ok("stat", "S")
        assert st["held"] == 2 and st["holders"] == [{"pid": peers[0].proc.pid, "units": 2}]
        client.send("semaphore.acquire", "S", 3, 30)
        killed = time.monotonic()
        peers[0].kill()
        r = client.recv()
        assert r.result == 0 and time.monotonic() - killed < NOT_LATE
        assert client.ok("stat", "S")["returned"] == 2
    finally:
        cleanup(peers)


def test_a_release_takes_from_the_releaser_then_the_oldest_holder(daemon, client, client2):
    client.ok("create", "S", "semaphore", {"value": 2, "bounded": True})
    client.ok("semaphore.acquire", "S")
    client2.ok("semaphore.acquire", "S")
    other = daemon.connect(name="other")
    other.ok("semaphore.release", "S")           # given back on someone's behalf: the oldest's
    assert [h["units"] for h in client.ok("stat", "S")["holders"]] == [1]
    client2.close()                              # its unit was not given back: it returns
    wait_until(lambda: client.ok("semaphore.value", "S") == 2)
    assert client.err("semaphore.release", "S") == E.FULL   # never past the bound


def test_robust_off_keeps_units_with_whoever_took_them(daemon, client, client2):
    client.ok("create", "S", "semaphore", {"value": 0, "robust": False})
    client2.ok("semaphore.release", "S")
    client.ok("semaphore.acquire", "S")          # a signal consumed for good
    client.close()
    c = daemon.connect()
    assert c.ok("stat", "S")["holders"] == []
    assert c.ok("semaphore.value", "S") == 0


@pytest.mark.parametrize("bounded", [False, True])
def test_same_as_threading_over_a_random_sequence(daemon, bounded):
    rng = random.Random(99 + bounded)
    daemon.connect().ok("create", "M", "semaphore", {"value": 2, "bounded": bounded, "robust": False})
    model = threading.BoundedSemaphore(2) if bounded else threading.Semaphore(2)
    actors = [Actor(ProcessClient(daemon.sock_path, name="a%d" % i)) for i in range(3)]

    def model_op(op, n):
        try:
            if op == "acquire":
                return model.acquire(blocking=False)
            if op == "release":
                model.release(n)
            return model._value
        except ValueError:
            return "ValueError"

    def ipcd_op(op, n):
        def run(c):
            if op == "acquire":
                return c.call("semaphore.acquire", "M", 1, 0).status == 0
            if op == "release":
                r = c.call("semaphore.release", "M", n)
                if r.status:
                    return "ValueError" if r.status == E.FULL else r
            return c.ok("semaphore.value", "M")
        return run

    try:
        for step in range(400):
            a = rng.choice(actors)
            op, n = rng.choice(["acquire", "acquire", "release", "value"]), rng.randint(1, 2)
            assert a.run(ipcd_op(op, n)) == model_op(op, n), "step %d: %s %d" % (step, op, n)
    finally:
        for a in actors:
            a.stop()


def test_a_nil_n_is_one_unit_so_that_a_timeout_can_follow(client):
    client.ok("create", "S", "semaphore", {"value": 2})
    assert client.ok("semaphore.acquire", "S", None, 5) == 1
    assert client.ok("semaphore.acquire", "S", None) == 0
    assert client.err("semaphore.acquire", "S", None, 0) == E.TIMEOUT
    assert client.err("semaphore.acquire", "S", -1, 0) == E.BADARG
    assert client.err("semaphore.acquire", "S", 0, 0) == E.BADARG
