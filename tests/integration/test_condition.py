"""condition: threading.Condition for processes. wait gives the lock up and
takes it back (a reentrant lock with its count) before it answers; notify
wakes the oldest waits; wait and notify without the lock are NOTHELD; a
killed waiter does not lose a notify for the others."""
import random
import threading
import time

import pytest

from actors import Actor, ProcessClient
from ipcwire import E, wait_until
from syncpeers import Peer, cleanup


def sleepers(c, name):
    return [w["phase"] for w in c.ok("stat", name)["waiters"]]


def test_wait_notify(daemon, client):
    w = daemon.connect(name="w")
    assert w.ok("condition.acquire", "C") == {"owner_died": False}
    w.ok("condition.acquire", "C")               # its own lock is reentrant
    w.send("condition.wait", "C", 30)
    wait_until(lambda: sleepers(client, "C") == ["waiting"])
    assert client.ok("stat", "C")["locked"] is False    # given up, all of its count
    client.ok("condition.acquire", "C")
    assert client.ok("condition.notify", "C") == 1
    assert sleepers(client, "C") == ["notified"]
    client.ok("condition.release", "C")            # now the waiter can take it back
    assert w.recv().result == {"notified": True, "owner_died": False}
    st = client.ok("stat", "C")
    assert st["count"] == 2 and st["holder"] == st["holder"] and st["waiters"] == []
    assert client.err("condition.release", "C") == E.NOTHELD   # w owns it
    w.ok("condition.release", "C")
    w.ok("condition.release", "C")
    assert client.ok("stat", "C")["locked"] is False


def test_wait_and_notify_need_the_lock(client, client2):
    assert client.err("condition.wait", "C", 1) == E.NOTHELD
    assert client.err("condition.notify", "C") == E.NOTHELD
    assert client.err("condition.notify_all", "C") == E.NOTHELD
    client2.ok("condition.acquire", "C")
    assert client.err("condition.notify", "C") == E.NOTHELD    # held, by another
    assert client.err("condition.release", "C") == E.NOTHELD


def test_a_timed_out_wait_takes_the_lock_back_and_answers_false(daemon, client):
    client.ok("condition.acquire", "C")
    t0 = time.monotonic()
    assert client.ok("condition.wait", "C", 0.25) == {"notified": False, "owner_died": False}
    assert time.monotonic() - t0 >= 0.25
    assert client.ok("stat", "C")["locked"] is True
    assert client.ok("condition.wait", "C", 0) == {"notified": False, "owner_died": False}
    # a timed-out wait that must wait for the lock: it answers once it has it
    other = daemon.connect(name="other")
    client.send("condition.wait", "C", 0.2)
    wait_until(lambda: sleepers(other, "C") == ["waiting"])
    other.ok("condition.acquire", "C")
    wait_until(lambda: sleepers(other, "C") == ["timed_out"], timeout=10)
    assert other.ok("condition.notify", "C") == 0   # it is no longer waiting for one
    other.ok("condition.release", "C")
    assert client.recv().result == {"notified": False, "owner_died": False}


def test_notify_n_wakes_the_oldest_in_order(daemon, client):
    ws = [daemon.connect(name="w%d" % i) for i in range(4)]
    for i, w in enumerate(ws):
        w.ok("condition.acquire", "C")
        w.send("condition.wait", "C", 30)
        wait_until(lambda: len(sleepers(client, "C")) == i + 1)
    client.ok("condition.acquire", "C")
    assert client.ok("condition.notify", "C", 2) == 2
    assert sleepers(client, "C") == ["notified", "notified", "waiting", "waiting"]
    client.ok("condition.release", "C")
    for w in ws[:2]:
        assert w.recv().result["notified"] is True
        w.ok("condition.release", "C")
    client.ok("condition.acquire", "C")
    assert client.ok("condition.notify_all", "C") == 2
    client.ok("condition.release", "C")
    for w in ws[2:]:
        assert w.recv().result["notified"] is True
        w.ok("condition.release", "C")


def test_a_named_lock(daemon, client, client2):
    client.ok("create", "L", "lock")
    client.ok("create", "C", "condition", {"lock": "L"})
    assert client.ok("stat", "C")["options"] == {"lock": "L"}
    client.ok("lock.acquire", "L")                  # the same lock, by either name
    client.send("condition.wait", "C", 30)
    wait_until(lambda: sleepers(client2, "C") == ["waiting"])
    assert client2.ok("lock.locked", "L") is False
    client2.ok("condition.acquire", "C")
    assert client2.ok("lock.locked", "L") is True
    client2.ok("condition.notify", "C")
    client2.ok("lock.release", "L")
    assert client.recv().result == {"notified": True, "owner_died": False}
    assert client.ok("stat", "L")["holder"] is not None
    client.ok("lock.release", "L")
    client.ok("delete", "L")
    assert client.err("condition.acquire", "C", 0) == E.NOTFOUND


def test_a_killed_waiter_does_not_lose_a_notify(daemon, client):
    peers = []
    try:
        for i in range(3):
            p = Peer(daemon.sock_path, [["condition.acquire", "C"], ["condition.wait", "C", 60],
                                        ["condition.release", "C"]])
            peers.append(p)
            assert p.reply()[0] == 0
            wait_until(lambda: len(sleepers(client, "C")) == i + 1, timeout=20)
        client.ok("condition.acquire", "C")
        assert client.ok("condition.notify", "C") == 1   # the oldest is notified ...
        peers[0].kill()                                   # ... and dies before it takes the lock back
        wait_until(lambda: sleepers(client, "C") == ["notified", "waiting"])
        client.ok("condition.release", "C")
        assert peers[1].reply()[:2] == (0, {"notified": True, "owner_died": False})
        assert not peers[2].ready(0.2)                    # one notify, one wake
        client.ok("condition.acquire", "C")
        client.ok("condition.notify", "C")
        client.ok("condition.release", "C")
        assert peers[2].reply()[:2] == (0, {"notified": True, "owner_died": False})
        # a waiter killed while still waiting just leaves
        p = Peer(daemon.sock_path, [["condition.acquire", "C"], ["condition.wait", "C", 60]], hold=True)
        peers.append(p)
        p.reply()
        wait_until(lambda: len(sleepers(client, "C")) == 1, timeout=20)
        p.kill()
        wait_until(lambda: sleepers(client, "C") == [])
        assert client.ok("stat", "C")["locked"] is False
    finally:
        cleanup(peers)


def test_deleted_while_waiting(daemon, client, client2):
    client2.ok("condition.acquire", "C")
    client2.send("condition.wait", "C", 30)
    wait_until(lambda: sleepers(client, "C") == ["waiting"])
    client.ok("delete", "C")
    assert client2.recv().status == E.DELETED


def test_same_as_threading_over_a_random_sequence(daemon):
    """Acquire, release, notify, notify_all and wait(0) at random by actors,
    each its own thread for threading and its own connection for ipcd: the
    same answers and the same RuntimeErrors."""
    rng = random.Random(11)
    model = threading.Condition()
    actors = [Actor(ProcessClient(daemon.sock_path, name="a%d" % i)) for i in range(3)]

    def model_op(op):
        try:
            if op == "acquire":
                return model.acquire(blocking=False)
            if op == "release":
                return model.release()
            if op == "notify":
                return model.notify()
            if op == "notify_all":
                return model.notify_all()
            return model.wait(0)
        except RuntimeError:
            return "RuntimeError"

    def ipcd_op(op):
        def run(c):
            args = {"acquire": ["condition.acquire", "M", 0], "release": ["condition.release", "M"],
                    "notify": ["condition.notify", "M"], "notify_all": ["condition.notify_all", "M"],
                    "wait": ["condition.wait", "M", 0]}[op]
            r = c.call(*args)
            if r.status == E.NOTHELD:
                return "RuntimeError"
            if op == "acquire":
                return r.status == 0
            assert r.status == 0, r
            return r.result["notified"] if op == "wait" else None
        return run

    try:
        for step in range(400):
            a = rng.choice(actors)
            op = rng.choice(["acquire", "release", "notify", "notify_all", "wait"])
            assert a.run(ipcd_op(op)) == a.run(lambda c: model_op(op)), "step %d: %s" % (step, op)
    finally:
        for a in actors:
            a.stop()


def test_deleted_while_in_line_for_a_named_lock(daemon, client, client2):
    client.ok("create", "C", "condition", {"lock": "L"})
    client.ok("lock.acquire", "L")
    client2.send("condition.acquire", "C", 30)     # waits on L's queue
    wait_until(lambda: client.ok("stat", "L")["waiting"] == 1)
    assert client.ok("stat", "C")["waiting"] == 1
    client.ok("delete", "C")
    assert client2.recv().status == E.DELETED
    assert client.ok("stat", "L")["waiting"] == 0
    client.ok("lock.release", "L")
    assert client2.ok("lock.acquire", "L", 0) == {"owner_died": False}
