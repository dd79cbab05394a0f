"""The synchronisation types across a restart, from the log alone and from a
snapshot with the log after it: options, flags and values come back; what a
connection held is given back as its closing would (every connection is gone
after a restart): a robust lock is free and tells its next acquirer that its
holder died, a non-robust one stays held."""
import pytest

from ipcwire import wait_until
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
