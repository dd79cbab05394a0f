"""State that survives the daemon: every object with its options and contents
comes back after a stop, a SIGKILL or a compaction; pending deliveries come
back at the head with their counts; delays and leases keep their absolute
deadlines; a torn tail is cut off, a damaged log or snapshot stops the start
unless --recover; a full disk turns writes into PERSIST while reads go on."""
import glob
import os
import signal
import subprocess
import time

import pytest

from ipcwire import E, wait_until, held_memory
from ipcd_testlib import NOT_LATE


class Stateful:
    """Starts daemons one after the other on the same state directory."""

    def __init__(self, make_daemon, tmp_path, *opts):
        self.make_daemon = make_daemon
        self.state = str(tmp_path / "state")
        self.opts = list(opts)
        self.d = None

    def start(self, *extra, expect_fail=False):
        self.d = self.make_daemon("-o", "state_dir=" + self.state, *self.opts, *extra, start=not expect_fail)
        if expect_fail:
            self.d.spawn()
            return self.d.exit_code()
        return self.d

    def connect(self):
        return self.d.connect()

    def kill(self):
        """SIGKILL: nothing is flushed at exit."""
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait(10)
        self.d.proc = None
        self.d._close_files()
        os.unlink(self.d.sock_path)

    def stop(self):
        self.d.stop()

    def restart(self, kill=False, *extra):
        self.kill() if kill else self.stop()
        return self.start(*extra)

    def files(self, pattern):
        return sorted(glob.glob(os.path.join(self.state, pattern)))


@pytest.fixture
def stateful(make_daemon, tmp_path):
    return lambda *opts: Stateful(make_daemon, tmp_path, *opts)


def wait_snapshot(c):
    """Until a snapshot was written and none is being written (bounded)."""
    def done():
        p = c.ok("info")["persistence"]
        return p["last_snapshot"] > 0 and not p["snapshot_running"]
    wait_until(done, what="the snapshot to finish")


def fill_everything(c):
    c.ok("create", "jobs", "queue", {"maxsize": 100, "max_deliveries": 3})
    c.ok("queue.put_many", "jobs", ["a", {"b": [1, 2.5, None]}, b"\x00\xff", "d"])
    c.ok("queue.put", "jobs", "urgent", None, {"priority": -5})
    c.ok("queue.put", "jobs", "later", None, {"priority": 5})
    c.ok("list.extend", "L", [1, "two", [3]])
    c.ok("list.insert", "L", 0, "zero")
    c.ok("dict.update", "D", {"k": "v", "n": 1})
    c.ok("dict.incr", "D", "n", 41)
    c.ok("ns.set", "N", "attr", {"deep": [True]})


def check_everything(c):
    assert sorted(n for n, _ in c.ok("ls")[1]) == ["D", "L", "N", "jobs"]
    st = c.ok("stat", "jobs")
    assert st["options"]["maxsize"] == 100 and st["options"]["max_deliveries"] == 3
    assert c.ok("dump", "jobs") == ["urgent", "a", {"b": [1, 2.5, None]}, b"\x00\xff", "d", "later"]
    assert st["unfinished"] == 6 and st["put"] == 6
    assert c.ok("dump", "L") == ["zero", 1, "two", [3]]
    assert c.ok("dump", "D") == {"k": "v", "n": 42}
    assert c.ok("ns.get", "N", "attr") == {"deep": [True]}


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_every_type_survives_a_restart(stateful, kill):
    s = stateful("-o", "fsync=always")
    s.start()
    fill_everything(s.connect())
    s.restart(kill=kill)
    check_everything(s.connect())


def test_state_survives_compaction_and_the_log_after_it(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    fill_everything(c)
    c.ok("save")
    wait_snapshot(c)
    assert s.files("snapshot.*")
    c.ok("queue.put", "jobs", "after-snapshot")
    assert c.ok("queue.get", "jobs", 0) == "urgent"
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("dump", "jobs") == ["a", {"b": [1, 2.5, None]}, b"\x00\xff", "d", "after-snapshot", "later"]
    assert c.ok("dump", "L") == ["zero", 1, "two", [3]]
    st = c.ok("stat", "jobs")
    assert st["unfinished"] == 7 and st["got"] == 1


def test_automatic_compaction_keeps_the_state(stateful):
    s = stateful("-o", "fsync=always", "-o", "compact_min=0", "-o", "compact_percent=1")
    s.start()
    c = s.connect()
    for i in range(300):
        c.ok("queue.put", "q", i)
        if i % 3 == 0:
            c.ok("queue.get", "q", 0)
    wait_until(lambda: c.ok("info")["persistence"]["last_snapshot"] > 0, what="a compaction")
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("dump", "q") == [i for i in range(300) if i >= 100]


@pytest.mark.parametrize("snapshot", [False, True], ids=["log", "snapshot"])
def test_pending_deliveries_come_back_at_the_head_with_their_counts(stateful, snapshot):
    s = stateful("-o", "fsync=always")
    s.start()
    c, worker = s.connect(), s.connect()
    c.ok("queue.put_many", "q", ["x", "y", "z"])
    first = worker.ok("queue.get_ack", "q", 0)
    worker.ok("queue.nack", "q", first["id"])           # x: delivered once, back at the head
    d1 = worker.ok("queue.get_ack", "q", 0)             # x again (2nd delivery)
    d2 = worker.ok("queue.get_ack", "q", 0)             # y
    assert (d1["value"], d1["deliveries"], d2["value"]) == ("x", 2, "y")
    if snapshot:
        c.ok("save")
        wait_snapshot(c)
    s.restart(kill=True)
    c = s.connect()
    st = c.ok("stat", "q")
    assert st["pending"] == 0 and st["ready"] == 3 and st["unfinished"] == 3
    assert c.ok("dump", "q") == ["x", "y", "z"]
    again = c.ok("queue.get_ack", "q", 0)
    assert again["value"] == "x" and again["deliveries"] == 3
    assert c.ok("queue.get_ack", "q", 0)["deliveries"] == 2   # y
    assert c.err("queue.ack", "q", d1["id"]) == E.NOTPENDING  # the old delivery ended
    assert again["id"] > d2["id"]                              # ids are never reused


@pytest.mark.parametrize("snapshot", [False, True], ids=["log", "snapshot"])
def test_a_restored_queue_counts_the_same_memory(stateful, snapshot):
    """What max_memory counts for a queue's items comes back byte for byte,
    and its room (`stat`) is counted again from the start."""
    s = stateful()
    s.start()
    c = s.connect()
    c.ok("queue.put_many", "q", [b"%016d" % i for i in range(500)] + ["s" * (i % 30) for i in range(500)])
    c.ok("queue.put_many", "q", [[i, "bare"] for i in range(50)] + ["L" * 400] * 10)
    c.ok("queue.get_many", "q", 300)
    held = held_memory(c) - c.ok("stat", "q")["room"]
    if snapshot:
        c.ok("save")
        wait_snapshot(c)
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("queue.qsize", "q") == 760
    assert held_memory(c) - c.ok("stat", "q")["room"] == held


def test_acked_and_consumed_items_stay_gone(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("queue.put_many", "q", list(range(10)))
    for _ in range(3):
        c.ok("queue.get", "q", 0)
    d = c.ok("queue.get_ack", "q", 0)
    c.ok("queue.ack", "q", d["id"])
    c.ok("queue.task_done", "q", 2)
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("dump", "q") == list(range(4, 10))
    st = c.ok("stat", "q")
    assert st["unfinished"] == 10 - 1 - 2 and st["acked"] == 1


def test_a_delay_keeps_its_deadline_across_a_restart(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    delay = 1.5
    t0 = time.monotonic()
    c.ok("queue.put", "q", "late", None, {"delay": delay})
    s.restart(kill=True)
    c = s.connect()
    st = c.ok("stat", "q")
    assert st["delayed"] == 1 and st["ready"] == 0
    left = delay - (time.monotonic() - t0)
    if left > 0.05:
        assert c.err("queue.get", "q", 0) == E.EMPTY        # never early
    assert c.ok("queue.get", "q", left + NOT_LATE) == "late"
    assert time.monotonic() - t0 >= delay


def test_a_delay_due_while_running_is_replayed_where_it_happened(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("queue.put", "q", "delayed", None, {"delay": 0.2})
    assert c.ok("queue.get", "q", 2 + NOT_LATE) == "delayed"
    c.ok("queue.put", "q", "plain")
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("dump", "q") == ["plain"]


def test_an_explicit_lease_keeps_its_deadline_across_a_restart(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("queue.put", "q", "job")
    t0 = time.monotonic()
    lease = 1.5
    d = c.ok("queue.get_ack", "q", 0, lease)
    s.restart(kill=True)
    c = s.connect()
    p = c.ok("queue.pending", "q")
    assert len(p) == 1 and p[0]["id"] == d["id"] and p[0]["lease"] <= lease
    assert c.ok("stat", "q")["ready"] == 0                   # still held: never early
    assert c.ok("queue.get", "q", max(0.0, lease - (time.monotonic() - t0)) + NOT_LATE) == "job"
    assert time.monotonic() - t0 >= lease


def test_another_process_acks_an_explicit_lease_after_a_restart(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("queue.put", "q", "job")
    d = c.ok("queue.get_ack", "q", 0, 60)
    s.restart(kill=True)
    c = s.connect()
    c.ok("queue.ack", "q", d["id"])
    s.restart(kill=True)
    c = s.connect()
    st = c.ok("stat", "q")
    assert st["pending"] == 0 and st["ready"] == 0 and st["unfinished"] == 0


def test_a_put_handed_to_a_waiting_getter_is_logged_before_the_get(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    getter, putter = s.connect(), s.connect()
    rid = getter.send("queue.get", "q", 10)
    wait_until(lambda: putter.ok("stat", "q")["getters"] == 1, what="the getter to park")
    putter.ok("queue.put", "q", "handed")
    putter.ok("queue.put", "q", "kept")
    assert getter.recv().id == rid
    s.restart(kill=True)
    assert s.connect().ok("dump", "q") == ["kept"]


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_a_get_many_cut_short_by_max_output_replays_what_it_took(stateful, kill):
    # The replay must take the three items the reply carried, not the ten
    # asked for, whatever max_output is when the log is read.
    s = stateful("-o", "fsync=always", "-o", "compact_min=1G")
    s.start("-o", "max_frame=64K", "-o", "max_output=65K")
    c = s.connect()
    items = ["%02d" % i * 10000 for i in range(10)]
    for item in items:
        c.ok("queue.put", "q", item)
    assert c.ok("queue.get_many", "q", 10) == items[:3]
    s.restart(kill)
    c = s.connect()
    assert c.ok("queue.qsize", "q") == 7
    assert c.ok("queue.get_many", "q", 10) == items[3:]


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_a_prefetch_cut_short_by_max_output_replays_what_it_took(stateful, kill):
    s = stateful("-o", "fsync=always", "-o", "compact_min=1G")
    s.start("-o", "max_frame=64K", "-o", "max_output=65K")
    c = s.connect()
    for i in range(6):
        c.ok("queue.put", "q", "%d" % i * 20000)
    took = c.ok("queue.get_ack_many", "q", 6, 0, 3600)   # an explicit lease: pending across the restart
    assert len(took) == 3
    s.restart(kill)
    c = s.connect()
    assert c.ok("queue.qsize", "q") == 3
    assert sorted(p["id"] for p in c.ok("queue.pending", "q")) == sorted(t["id"] for t in took)


def test_dead_letters_survive(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("create", "q", "queue", {"max_deliveries": 1})
    c.ok("queue.put", "q", "poison")
    d = c.ok("queue.get_ack", "q", 0)
    c.ok("queue.nack", "q", d["id"])
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("dump", "q.dead") == ["poison"] and c.ok("dump", "q") == []


@pytest.mark.parametrize("snapshot", [False, True], ids=["log", "snapshot"])
def test_a_dead_letter_that_failed_is_still_counted_after_a_restart(stateful, snapshot):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("create", "jobs", "queue", {"max_deliveries": 1, "dead_letter": "graves"})
    c.ok("list.append", "graves", "not a queue")
    c.ok("queue.put", "jobs", "poison")
    c.ok("queue.nack", "jobs", c.ok("queue.get_ack", "jobs", 0)["id"])
    if snapshot:
        c.ok("save")
        wait_snapshot(c)
    s.restart(kill=True)
    c = s.connect()
    st = c.ok("stat", "jobs")
    assert (st["size"], st["dead_letter_failed"], st["unfinished"]) == (1, 1, 1), st
    d = c.ok("queue.get_ack", "jobs", 0)
    assert (d["value"], d["deliveries"]) == ("poison", 2)


def test_a_dead_letter_takes_a_name_only_a_waiter_of_another_type_keeps(stateful):
    # Nothing is stored as q.dead, only a waiting list.blpop keeps the name:
    # the log has no such list, so a replay makes the dead-letter queue
    # there. The daemon does the same when it runs: the waiter is told
    # DELETED, and the restart finds what there was.
    s = stateful("-o", "fsync=always")
    s.start()
    c, w = s.connect(), s.connect()
    c.ok("create", "q", "queue", {"max_deliveries": 1})
    c.ok("queue.put", "q", "poison")
    rid = w.send("list.blpop", "q.dead", 30)
    wait_until(lambda: c.ok("exists", "q.dead"), what="the blpop to park")
    c.ok("queue.nack", "q", c.ok("queue.get_ack", "q", 0)["id"])
    r = w.recv()
    assert (r.id, r.status) == (rid, E.DELETED)

    def state(c):
        st = c.ok("stat", "q")
        return c.ok("type", "q.dead"), c.ok("dump", "q.dead"), st["size"], st["dead_letter_failed"]
    assert state(c) == ("queue", ["poison"], 0, 0)
    s.restart(kill=True)
    assert state(s.connect()) == ("queue", ["poison"], 0, 0)


def test_a_consumer_that_disconnects_returns_its_items_in_the_log_too(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c, worker = s.connect(), s.connect()
    c.ok("queue.put_many", "q", ["a", "b"])
    worker.ok("queue.get_ack", "q", 0)
    worker.close()
    wait_until(lambda: c.ok("stat", "q")["pending"] == 0, what="the delivery to come back")
    assert c.ok("queue.get", "q", 0) == "a"
    s.restart(kill=True)
    assert s.connect().ok("dump", "q") == ["b"]


def test_deleted_objects_stay_deleted(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("list.append", "gone", 1)
    c.ok("delete", "gone")
    c.ok("dict.set", "kept", "k", 1)
    s.restart(kill=True)
    assert [n for n, _ in s.connect().ok("ls")[1]] == ["kept"]


def test_info_reports_persistence(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    p = s.connect().ok("info")["persistence"]
    assert p["enabled"] is True and p["fsync"] == "always" and p["state_dir"] == s.state
    assert p["healthy"] is True and p["last_error"] == ""


def test_in_memory_by_default(make_daemon):
    d = make_daemon()
    c = d.connect()
    assert c.ok("info")["persistence"]["enabled"] is False
    assert c.err("save") == E.PERSIST


# ---- damage ------------------------------------------------------------------

def test_a_torn_last_record_is_cut_off_and_logged(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("queue.put_many", "q", [1, 2, 3])
    s.kill()
    log = s.files("log.*")[-1]
    with open(log, "rb") as f:
        data = f.read()
    size = len(data.rstrip(b"\0"))              # the log is written with zeros ahead of its end
    with open(log, "r+b") as f:
        f.seek(size)
        f.write(b"\x40\x00\x00\x00\x12\x34")         # a length and half a CRC: a crash mid-write
    s.start()
    assert s.connect().ok("dump", "q") == [1, 2, 3]
    assert "offset %d" % size in s.d.stderr()


def test_a_flipped_bit_mid_log_stops_the_start_unless_recover(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    for i in range(20):
        c.ok("queue.put", "q", "item-%d" % i)
    s.kill()
    log = s.files("log.*")[-1]
    with open(log, "r+b") as f:
        data = bytearray(f.read())
        at = data.index(b"item-10")
        data[at] ^= 0x01
        f.seek(0)
        f.write(data)
    assert s.start(expect_fail=True) != 0
    err = s.d.stderr()
    assert os.path.basename(log) in err and "offset" in err and "--recover" in err
    s.start("--recover")
    kept = s.connect().ok("dump", "q")
    assert kept == ["item-%d" % i for i in range(10)]
    assert any(".damaged" in f or "damaged" in f for f in os.listdir(s.state)), os.listdir(s.state)


def test_a_truncated_snapshot_stops_the_start_unless_recover(stateful):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("queue.put_many", "q", list(range(500)))
    c.ok("save")
    wait_snapshot(c)
    s.kill()
    snap = s.files("snapshot.*")[-1]
    with open(snap, "r+b") as f:
        f.truncate(os.path.getsize(snap) // 2)
    assert s.start(expect_fail=True) != 0
    assert os.path.basename(snap) in s.d.stderr()
    s.start("--recover")   # starts; what the cut snapshot held is not invented
    c = s.connect()
    dumped = c.ok("dump", "q") if c.ok("exists", "q") else []
    assert dumped == list(range(len(dumped)))


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("a full disk is made with a small tmpfs, which needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.decode(errors="replace").strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_refuses_writes_with_persist_and_recovers(make_daemon, small_disk):
    d = make_daemon("-o", "state_dir=%s/state" % small_disk, "-o", "fsync=always",
                    "-o", "compact_percent=0")
    c = d.connect()
    c.ok("queue.put", "q", "before")
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    # The log is written with zeros ahead of its end, so some puts still
    # fit; then the disk refuses and every write is PERSIST.
    big = "x" * 8192
    stored = 1
    for _ in range(1000):
        r = c.call("queue.put", "q", big)
        if r.status:
            break
        stored += 1
    assert r.status == E.PERSIST, r
    assert [c.call("queue.put", "q", big).status for _ in range(3)] == [E.PERSIST] * 3
    n = c.ok("queue.qsize", "q")
    assert n in (stored, stored + 1)                 # the first refused one may be in memory, not more
    assert c.ok("dump", "q")[0] == "before"           # reads go on
    assert "cannot" in d.stderr() or "No space" in d.stderr()
    os.unlink(filler)
    wait_until(lambda: c.call("queue.put", "q", "after").status == 0, timeout=10, what="writes to work again")
    d.stop()
    d2 = make_daemon("-o", "state_dir=%s/state" % small_disk, "-o", "fsync=always", "-o", "compact_percent=0")
    items = d2.connect().ok("dump", "q")
    assert items[0] == "before" and items[-1] == "after"


def test_a_stop_during_a_snapshot_waits_for_it(stateful):
    s = stateful("-o", "fsync=everysec")
    s.start()
    c = s.connect()
    for i in range(200):
        c.ok("queue.put_many", "q", ["%016d" % (i * 1000 + j) for j in range(1000)])
    c.ok("save")
    s.stop()     # at once: the snapshot is still being written
    err = s.d.stderr()
    assert "snapshot child failed" not in err and "snapshot.000002 written" in err, err
    assert s.files("snapshot.*") and not s.files("snapshot.tmp")
    s.start()
    c = s.connect()
    assert c.ok("queue.qsize", "q") == 200000
    assert c.ok("queue.get", "q", 0) == "%016d" % 0


@pytest.mark.parametrize("snapshot", [False, True], ids=["log", "snapshot"])
def test_owner_group_and_mode_survive(stateful, snapshot):
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    c.ok("create", "private", "dict", {"mode": 0o640})
    c.ok("chown", "private", 65534, 65533)
    if snapshot:
        c.ok("save")
        wait_snapshot(c)
    s.restart(kill=True)
    st = s.connect().ok("stat", "private")
    assert (st["owner"], st["group"], st["mode"]) == (65534, 65533, 0o640)


@pytest.mark.parametrize("snapshot", [False, True])
def test_an_object_made_for_a_wait_only_does_not_survive(stateful, snapshot):
    s = stateful("-o", "fsync=always")
    s.start()
    c, w = s.connect(), s.connect()
    c.ok("queue.put", "kept", 1)
    w.send("queue.get", "waited-on")
    wait_until(lambda: c.ok("exists", "waited-on"), what="the get to park")
    if snapshot:
        c.ok("save")
        wait_until(lambda: c.ok("info")["persistence"]["last_snapshot"] > 0 and
                   not c.ok("info")["persistence"]["snapshot_running"], what="the snapshot to finish")
    s.restart(kill=True)
    c = s.connect()
    assert c.ok("exists", "waited-on") is False
    assert c.ok("dump", "kept") == [1]


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "sigkill"])
def test_writes_that_change_nothing_leave_nothing_after_a_restart(stateful, kill):
    """A write that leaves a free name as it reads (an empty update, a clear
    of nothing) makes no object: the log, replayed, makes none either."""
    s = stateful("-o", "fsync=always")
    s.start()
    c = s.connect()
    for op, args in (("dict.update", [{}]), ("list.extend", [[]]), ("queue.put_many", [[]]),
                     ("queue.clear", []), ("event.clear", []), ("barrier.reset", [])):
        c.ok(op, "free-" + op, *args)
    c.ok("list.append", "kept", 1)
    s.restart(kill=kill)
    c = s.connect()
    assert [n for n, _ in c.ok("ls", "*", 0, 100)[1]] == ["kept"]
    assert c.ok("info")["objects"] == 1
