"""The synchronisation types across a restart, from the log alone and from a
snapshot with the log after it: options, flags and values come back; what a
connection held is given back as its closing would (every connection is gone
after a restart): a robust lock is free and tells its next acquirer that its
holder died, a non-robust one stays held."""
import pytest

from ipcwire import E, wait_until
from test_persist import Stateful, wait_snapshot  # noqa: F401  (the fixture's class)

MODES = ["log", "snapshot"]


@pytest.fixture
def stateful(make_daemon, tmp_path):
    return lambda *opts: Stateful(make_daemon, tmp_path, *opts)


def snap(c, mode):
    if mode == "snapshot":
        c.ok("save")
        wait_snapshot(c)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_locks(stateful, mode, kill):
    s = stateful("-o", "fsync=always")
    s.start()
    c, a, b = s.connect(), s.connect(), s.connect()
    c.ok("create", "R", "lock", {"reentrant": True})
    c.ok("create", "sticky", "lock", {"robust": False})
    a.ok("lock.acquire", "L")
    b.send("lock.acquire", "L", 30)
    wait_until(lambda: c.ok("stat", "L")["waiting"] == 1)
    snap(c, mode)
    a.ok("lock.release", "L")                 # b has it now: logged when its wait ended
    assert b.recv().result == {"owner_died": False}
    b.ok("lock.acquire", "R")
    b.ok("lock.acquire", "R")
    b.ok("lock.release", "R")
    a.ok("lock.acquire", "sticky")
    c.ok("lock.acquire", "free")
    c.ok("lock.release", "free")
    s.restart(kill=kill)
    c = s.connect()
    st = c.ok("stat", "L")
    assert st["locked"] is False and st["owner_died"] is True and st["acquired"] == 2
    assert c.ok("lock.acquire", "L", 0) == {"owner_died": True}
    assert c.ok("stat", "R")["options"] == {"reentrant": True, "robust": True}
    assert c.ok("lock.locked", "R") is False
    assert c.ok("lock.acquire", "R", 0) == {"owner_died": True}
    st = c.ok("stat", "sticky")
    assert st["locked"] is True and st["holder_connected"] is False
    assert c.ok("lock.acquire", "free", 0) == {"owner_died": False}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_semaphores_and_events(stateful, mode, kill):
    s = stateful("-o", "fsync=always")
    s.start()
    c, a = s.connect(), s.connect()
    c.ok("create", "S", "semaphore", {"value": 5, "bounded": True})
    c.ok("create", "signal", "semaphore", {"value": 0, "robust": False})
    a.ok("semaphore.acquire", "S", 2)            # a's: they come back after the restart
    c.ok("semaphore.acquire", "S", 1)
    c.ok("semaphore.release", "signal", 3)
    snap(c, mode)
    c.ok("semaphore.acquire", "signal", 1)
    a.ok("semaphore.acquire", "S", 1)
    c.ok("event.set", "on")
    c.ok("event.set", "off")
    c.ok("event.clear", "off")
    s.restart(kill=kill)
    c = s.connect()
    assert c.ok("semaphore.value", "S") == 5     # every holder is gone
    st = c.ok("stat", "S")
    assert st["options"] == {"value": 5, "bounded": True, "robust": True} and st["holders"] == []
    assert st["acquired"] == 4 and st["returned"] == 4
    assert c.ok("semaphore.value", "signal") == 2
    assert c.ok("event.is_set", "on") is True and c.ok("event.is_set", "off") is False
    assert c.ok("stat", "on")["sets"] == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_conditions(stateful, mode, kill):
    s = stateful("-o", "fsync=always")
    s.start()
    c, a, b = s.connect(), s.connect(), s.connect()
    a.ok("condition.acquire", "C")
    a.ok("condition.acquire", "C")
    a.send("condition.wait", "C", 30)               # gives up both counts: logged as it parks
    wait_until(lambda: len(c.ok("stat", "C")["waiters"]) == 1)
    b.ok("condition.acquire", "C")
    snap(c, mode)
    b.ok("condition.notify", "C")
    b.ok("condition.release", "C")
    assert a.recv().result == {"notified": True, "owner_died": False}
    a.ok("condition.release", "C")                   # holds it once still
    # a wait that times out while another holds the lock
    b.ok("condition.acquire", "C2")
    b.send("condition.wait", "C2", 0.2)
    wait_until(lambda: len(c.ok("stat", "C2")["waiters"]) == 1)
    a.ok("condition.acquire", "C2")
    wait_until(lambda: [w["phase"] for w in c.ok("stat", "C2")["waiters"]] == ["timed_out"], timeout=10)
    a.ok("condition.release", "C2")
    assert b.recv().result == {"notified": False, "owner_died": False}
    b.ok("condition.release", "C2")
    # one still waiting when the daemon goes
    c.ok("condition.acquire", "C3")
    c.send("condition.wait", "C3", 30)
    wait_until(lambda: len(a.ok("stat", "C3")["waiters"]) == 1)
    s.restart(kill=kill)
    c = s.connect()
    st = c.ok("stat", "C")
    assert st["locked"] is False and st["owner_died"] is True and st["waiters"] == []
    assert c.ok("condition.acquire", "C", 0) == {"owner_died": True}
    st = c.ok("stat", "C2")
    assert st["locked"] is False and st["waiters"] == [] and st["owner_died"] is False
    st = c.ok("stat", "C3")
    assert st["locked"] is False and st["waiters"] == []
    assert c.ok("stat", "C")["notified"] == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_cancelled_waits(stateful, mode, kill):
    """A cancel ends a wait early, long before its deadline: the replay must
    end it at the same point (a condition wait takes its lock back, or is
    still in line for it when the notify came first; a barrier breaks; a
    lock acquire takes nothing), or the log would not fit."""
    s = stateful("-o", "fsync=always")
    s.start()
    c, a, b = s.connect(), s.connect(), s.connect()
    a.ok("condition.acquire", "C")
    a.send("condition.wait", "C", 60)
    wait_until(lambda: len(c.ok("stat", "C")["waiters"]) == 1)
    snap(c, mode)
    a.send("cancel")
    assert a.recv().result == {"notified": False, "owner_died": False}
    assert a.recv().result is True
    (me,) = [x["id"] for x in a.ok("clients")[1] if x["self"]]

    def bytes_in():
        return [x["bytes_in"] for x in c.ok("clients")[1] if x["id"] == me][0]
    a.send("condition.wait", "C", 60)                # notified, then cancelled in line for the lock
    wait_until(lambda: len(c.ok("stat", "C")["waiters"]) == 1)
    b.ok("condition.acquire", "C")
    assert b.ok("condition.notify", "C", 1) == 1
    sent = bytes_in()
    a.send("cancel")
    wait_until(lambda: bytes_in() > sent, what="the cancel read while b holds the lock")
    b.ok("condition.release", "C")
    assert a.recv().result == {"notified": True, "owner_died": False}
    assert a.recv().result is True
    a.ok("condition.release", "C")
    b.ok("lock.acquire", "L")
    a.send("lock.acquire", "L", 60)
    wait_until(lambda: c.ok("stat", "L")["waiting"] == 1)
    a.send("cancel")
    assert a.recv().status == E.TIMEOUT
    assert a.recv().result is True
    b.ok("lock.release", "L")
    c.ok("create", "B", "barrier", {"parties": 2})
    a.send("barrier.wait", "B", 60)
    wait_until(lambda: c.ok("barrier.n_waiting", "B") == 1)
    a.send("cancel")
    assert a.recv().status == E.BROKEN
    assert a.recv().result is True
    before = {n: c.ok("stat", n) for n in ("C", "L", "B")}
    s.restart(kill=kill)
    c = s.connect()
    for n, st in before.items():
        after = c.ok("stat", n)
        for key in ("acquired", "notified", "broken", "locked", "waiting", "owner_deaths"):
            assert after.get(key) == st.get(key), (n, key, st, after)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_barriers(stateful, mode, kill):
    s = stateful("-o", "fsync=always")
    s.start()
    c, a, b = s.connect(), s.connect(), s.connect()
    c.ok("create", "B", "barrier", {"parties": 3})
    a.send("barrier.wait", "B", 30)
    wait_until(lambda: c.ok("barrier.n_waiting", "B") == 1)
    snap(c, mode)
    b.send("barrier.wait", "B", 30)
    wait_until(lambda: c.ok("barrier.n_waiting", "B") == 2)
    assert c.ok("barrier.wait", "B") == 2
    assert (a.recv().result, b.recv().result) == (0, 1)
    # broken by a timeout, then made whole
    c.ok("create", "T", "barrier", {"parties": 2})
    assert c.err("barrier.wait", "T", 0.05) == E.BROKEN
    c.ok("create", "R", "barrier", {"parties": 2})
    assert c.err("barrier.wait", "R", 0) == E.BROKEN
    c.ok("barrier.reset", "R")
    # one waiting when the daemon goes: its party is gone, the barrier broken
    c.ok("create", "W", "barrier", {"parties": 2})
    a.send("barrier.wait", "W", 30)
    wait_until(lambda: c.ok("barrier.n_waiting", "W") == 1)
    s.restart(kill=kill)
    c = s.connect()
    st = c.ok("stat", "B")
    assert st["broken"] is False and st["n_waiting"] == 0 and st["rounds"] == 1
    assert c.ok("stat", "B")["options"] == {"parties": 3}
    assert c.ok("barrier.broken", "T") is True
    assert c.ok("barrier.broken", "R") is False
    assert c.ok("barrier.broken", "W") is True and c.ok("barrier.n_waiting", "W") == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_barrier_made_without_parties_comes_back(stateful, mode):
    # Its options are an empty map in a snapshot; that must read back.
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("create", "none", "barrier")
    c.ok("create", "empty", "barrier", {})
    snap(c, mode)
    s.restart(kill=True)
    c = s.connect()
    for name in ("none", "empty"):
        assert c.ok("type", name) == "barrier"
        assert c.err("barrier.wait", name, 0) == E.BADARG


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_a_barrier_whose_action_runs_at_a_restart(stateful, mode, kill):
    """A round held for its action when the daemon goes does not hang after:
    its parties are gone and the barrier is broken; a round whose action
    ended before comes back released."""
    s = stateful("-o", "fsync=always")
    s.start()
    c, a, b = s.connect(), s.connect(), s.connect()
    c.ok("create", "done", "barrier", {"parties": 2})
    a.send("barrier.wait", "done", 30, {"action": True})
    wait_until(lambda: c.ok("barrier.n_waiting", "done") == 1)
    assert b.ok("barrier.wait", "done", 30, {"action": True}) == {"index": 1, "action": True}
    b.ok("barrier.done", "done")
    assert a.recv().result == {"index": 0, "action": False}
    c.ok("create", "H", "barrier", {"parties": 3})
    a.send("barrier.wait", "H", 30, {"action": True})
    wait_until(lambda: c.ok("barrier.n_waiting", "H") == 1)
    x = s.connect()
    x.send("barrier.wait", "H", 30)
    wait_until(lambda: c.ok("barrier.n_waiting", "H") == 2)
    assert b.ok("barrier.wait", "H", 30, {"action": True})["action"] is True
    assert c.ok("stat", "H")["action"] is not None
    snap(c, mode)     # snapshot: the held round and its acting party are in it
    s.restart(kill=kill)
    c = s.connect()
    st = c.ok("stat", "done")
    assert st["rounds"] == 1 and st["broken"] is False
    st = c.ok("stat", "H")
    assert st["broken"] is True and st["n_waiting"] == 0 and st["action"] is None and st["rounds"] == 0
    c.ok("barrier.reset", "H")
    a, b = s.connect(), s.connect()
    a.send("barrier.wait", "H", 30, {"action": True})
    b.send("barrier.wait", "H", 30, {"action": True})
    wait_until(lambda: c.ok("barrier.n_waiting", "H") == 2)
    assert c.ok("barrier.wait", "H", 30, {"action": True})["action"] is True
    c.ok("barrier.done", "H")
    assert sorted(r.recv().result["index"] for r in (a, b)) == [0, 1]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_an_action_done_after_a_snapshot_comes_back_released(stateful, mode, kill):
    s = stateful("-o", "fsync=always")
    s.start()
    c, a, b = s.connect(), s.connect(), s.connect()
    c.ok("create", "H", "barrier", {"parties": 3})
    a.send("barrier.wait", "H", 30, {"action": True})
    b.send("barrier.wait", "H", 30)
    wait_until(lambda: c.ok("barrier.n_waiting", "H") == 2)
    assert c.ok("barrier.wait", "H", 30, {"action": True}) == {"index": 2, "action": True}
    snap(c, mode)
    c.ok("barrier.done", "H")
    assert sorted([a.recv().result["index"], b.recv().result]) == [0, 1]
    a.send("barrier.wait", "H", 30)   # the next round: its party goes with the daemon
    wait_until(lambda: c.ok("barrier.n_waiting", "H") == 1)
    s.restart(kill=kill)
    c = s.connect()
    st = c.ok("stat", "H")
    assert st["rounds"] == 1 and st["action"] is None and st["broken"] is True and st["n_waiting"] == 0
