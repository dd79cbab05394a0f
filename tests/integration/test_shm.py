"""The shared-memory channel (PROTOCOL.md, "Shared-memory channel").

A raw client here maps the rings itself, to speak the channel byte for byte
and to corrupt it the ways a hostile client could; libipcd clients run as
processes (shm_peer, $IPCD_SHM_PEER) for what a real client does: blocking
ops, idle connections by the thousand, pipelines that make no system call.
"""
import os
import re
import signal
import shutil
import socket
import struct
import subprocess
import time

import pytest

from ipcd_testlib import NOT_LATE, env_bin
import ipcwire
from ipcwire import REP_TAIL, REQ_CONS_SLEEP, REQ_HEAD, REQ_TAIL, SHM_HEADER as HEADER, E, Rings
from ipcwire import frame, put32, request_bytes, u32, unpack, wait_until
from test_idle_cost import cpu_seconds


def peer_bin():
    return env_bin("IPCD_SHM_PEER", "shm_peer")


class ShmClient:
    """A raw connection moved to the channel by hand (ipcwire's Rings carry
    its frames), with its mapping and indices in reach, to corrupt them the
    ways a hostile client could."""

    def __init__(self, daemon):
        self.c = daemon.connect(shm=False)
        rid = self.c.send("shm.open")
        r, fds = self.c.recv_with_fds()
        assert r.id == rid and r.status == 0, r
        assert len(fds) == 1, "shm.open's reply carries the memfd"
        self.ring = r.result["ring_size"]
        assert os.fstat(fds[0]).st_size == r.result["size"] == HEADER + 2 * self.ring
        self.inode = os.fstat(fds[0]).st_ino
        self.c.rings = Rings(fds[0], r.result["size"], self.ring)
        os.close(fds[0])
        self.m = self.c.rings.m
        self.next_id = 100

    @property
    def head(self):          # our request index
        return self.c.rings.head

    @head.setter
    def head(self, v):
        self.c.rings.head = v & 0xFFFFFFFF

    @property
    def tail(self):          # our reply index
        return self.c.rings.tail

    def write(self, data):
        """Put bytes in the request ring (they must fit) and wake the daemon
        if it said it sleeps."""
        assert len(data) <= self.c.rings.room()
        self.c.send_raw(data)

    def call(self, op, *args, timeout=5.0):
        rid = self.next_id
        self.next_id += 1
        self.write(request_bytes(rid, op, *args))
        r = self.recv(timeout)
        assert r[0] == rid, r
        return r[1], r[2]

    def recv(self, timeout=5.0):
        """The next reply [id, status, result] from the reply ring."""
        self.c.sock.settimeout(timeout)
        r = self.c.recv()
        return [r.id, r.status, r.result]

    def closed(self, timeout=5.0):
        return self.c.expect_closed(timeout)


@pytest.fixture(autouse=True)
def _clients_keep_the_socket(monkeypatch):
    """This file opens the channel itself, where and how each test says:
    its plain clients stay on the socket in the suite's shm run too."""
    monkeypatch.setattr(ipcwire, "SHM_FROM_ENV", False)


# ---- the raw channel ---------------------------------------------------------------


def test_frames_travel_through_the_rings(make_daemon):
    daemon = make_daemon("-o", "shm_ring_size=64K")
    s = ShmClient(daemon)
    assert s.call("ping") == (0, "pong")
    assert s.call("queue.put", "q", {"k": [1, 2]}) == (0, 1)
    assert s.call("queue.get", "q") == (0, {"k": [1, 2]})
    # Wrapping around the end of the ring, many times over.
    for i in range(40):
        assert s.call("ping", "x" * 30000) == (0, "x" * 30000)
    assert s.head > 10 * s.ring and s.tail > 10 * s.ring
    # The socket carried no frame meanwhile.
    s.c.sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        s.c.sock.recv(1)


def test_a_frame_larger_than_the_ring(make_daemon):
    d = make_daemon("-o", "shm_ring_size=4K")
    s = ShmClient(d)
    assert s.ring == 4096
    big = "y" * 100000
    rid = s.next_id
    data = request_bytes(rid, "ping", big)
    # Write it in ring-sized pieces as room appears; replies are read after.
    while data:
        room = s.ring - (s.head - u32(s.m, REQ_TAIL))
        if room:
            s.write(data[:room])
            data = data[room:]
    assert s.recv() == [rid, 0, big]


def test_ring_size_rounds_up_and_counts_toward_max_memory(make_daemon):
    d = make_daemon("-o", "shm_ring_size=5000", "-o", "max_memory=100K")
    probe = d.connect()
    base = probe.ok("info")["memory"]
    s = ShmClient(d)
    assert s.ring == 8192
    assert probe.ok("info")["memory"] == base + HEADER + 2 * 8192
    # Past max_memory the channel is refused and the socket stays.
    many = [d.connect() for _ in range(8)]
    statuses = [c.call("shm.open").status for c in many]
    assert E.NOMEM in statuses, statuses
    refused = many[statuses.index(E.NOMEM)]
    assert refused.ok("ping") == "pong"
    s.c.close()
    for c in many:
        c.close()
    wait_until(lambda: probe.ok("info")["memory"] == base, what="rings given back")


def test_shm_off_refuses_and_keeps_the_socket(make_daemon):
    d = make_daemon("-o", "shm=no")
    c = d.connect()
    assert c.call("shm.open").status == E.BADOP
    assert c.ok("ping") == "pong"


def test_second_open_is_refused(daemon):
    s = ShmClient(daemon)
    assert s.call("shm.open")[0] == E.BADARG
    assert s.call("ping") == (0, "pong")


# ---- a hostile client breaks only its own connection ----------------------------------


def still_serving(daemon, bystander):
    assert bystander.ok("ping", "still") == "still"
    assert daemon.proc.poll() is None


@pytest.mark.parametrize("how", ["head_far_ahead", "head_behind", "reply_tail_ahead"])
def test_garbage_indices_close_that_connection(make_daemon, how):
    daemon = make_daemon("-o", "shm_ring_size=4K")
    bystander = daemon.connect()
    s = ShmClient(daemon)
    assert s.call("ping") == (0, "pong")
    if how == "head_far_ahead":
        put32(s.m, REQ_HEAD, s.head + s.ring + 12345)
    elif how == "head_behind":
        put32(s.m, REQ_HEAD, s.head - 7)
    else:
        # The daemon writes the reply ring: a tail beyond its head is a lie.
        # It reads the tail only when the room it saw last is too little,
        # so the reply asked for is bigger than the ring.
        bystander.ok("dict.set", "shm-big", "k", "x" * (s.ring + 100))
        put32(s.m, REP_TAIL, s.tail + 3 * s.ring)
        put32(s.m, REQ_HEAD, s.head)
        s.write(request_bytes(1, "dict.get", "shm-big", "k"))
    try:
        s.c.sock.send(b"w")  # wake the daemon, whatever the flag says
    except (BrokenPipeError, ConnectionResetError):
        pass                 # the write's own wake-up got there first: closed already
    assert s.closed(), "the daemon kept a connection with a corrupt ring"
    wait_until(lambda: "ring's index is out of range" in daemon.stderr(), what="the logged reason")
    still_serving(daemon, bystander)


def test_oversized_length_gets_toobig_and_closes(make_daemon):
    d = make_daemon("-o", "max_frame=4096")
    bystander = d.connect()
    s = ShmClient(d)
    s.write(struct.pack(">I", 0x7FFFFFFF) + b"\x93")
    rid, status, _ = s.recv()
    assert status == E.TOOBIG
    assert s.closed()
    still_serving(d, bystander)


def test_garbage_frame_closes_with_protocol(daemon):
    bystander = daemon.connect()
    s = ShmClient(daemon)
    s.write(frame(b"\xc1\xc1\xc1"))
    _, status, _ = s.recv()
    assert status == E.PROTOCOL
    assert s.closed()
    still_serving(daemon, bystander)


def test_torn_frame_then_gone_releases_its_holds(daemon):
    bystander = daemon.connect()
    s = ShmClient(daemon)
    assert s.call("lock.acquire", "L") == (0, {"owner_died": False})
    assert bystander.ok("lock.locked", "L") is True
    whole = request_bytes(9, "queue.put", "torn", "never")
    s.write(whole[:len(whole) // 2])     # half a frame, then the process is gone
    s.m.close()
    s.c.close()
    wait_until(lambda: bystander.ok("lock.locked", "L") is False, what="the lock released")
    assert bystander.call("queue.qsize", "torn").status in (0, E.NOTFOUND)
    if bystander.call("queue.qsize", "torn").status == 0:
        assert bystander.ok("queue.qsize", "torn") == 0
    still_serving(daemon, bystander)


def test_bytes_on_the_socket_after_open_are_dropped(daemon):
    c = daemon.connect()
    # shm.open and, wrongly, a ping right behind it on the socket.
    c.send_raw(request_bytes(1, "shm.open") + request_bytes(2, "ping", "lost"))
    data, fds, _, _ = socket.recv_fds(c.sock, 1 << 16, 4)
    assert len(fds) == 1
    for fd in fds:
        os.close(fd)
    _, status, _ = unpack(data[4:])
    assert status == 0
    c.sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        c.sock.recv(1)     # no reply to the ping: neither on the socket ...
    assert daemon.connect().ok("ping") == "pong"


# ---- libipcd over the channel ----------------------------------------------------------


def peer(daemon, *args, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([peer_bin(), daemon.sock_path] + [str(a) for a in args], capture_output=True,
                          text=True, env=e, timeout=120, **kw)


def words(out):
    w = out.split()
    return dict(zip(w[0::2], w[1::2]))


def test_libipcd_uses_the_channel_unless_told_not_to(daemon):
    r = peer(daemon, "ping", 1000)
    assert r.returncode == 0, r
    assert words(r.stdout)["shm"] == "1"
    r = peer(daemon, "ping", 1000, env={"IPCD_SHM": "0"})
    assert r.returncode == 0, r
    assert words(r.stdout)["shm"] == "0"


def mapped_rings(pid):
    with open("/proc/%d/maps" % pid) as f:
        return sum("memfd:ipcd-shm" in line for line in f)


@pytest.mark.parametrize("shm", ["1", "0"])
def test_the_channel_is_really_mapped_or_not(daemon, shm):
    p = subprocess.Popen([peer_bin(), daemon.sock_path, "idle", "3"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=dict(os.environ, IPCD_SHM=shm))
    try:
        assert p.stdout.readline().split() == ["ready", "3", "3" if shm == "1" else "0"]
        assert mapped_rings(p.pid) == (3 if shm == "1" else 0)
        assert mapped_rings(daemon.pid) == (3 if shm == "1" else 0)
    finally:
        p.stdin.close()
        p.wait(timeout=10)


def test_blocking_get_over_the_channel_is_woken_by_another_client(daemon):
    probe = daemon.connect()
    p = subprocess.Popen([peer_bin(), daemon.sock_path, "get", "jobs", "30"], stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: probe.ok("stat", "jobs")["waiting"] == 1, timeout=10, what="the get parked")
        t0 = time.monotonic()
        probe.ok("queue.put", "jobs", 42)
        out, _ = p.communicate(timeout=10)
        assert p.returncode == 0
        assert words(out) == {"shm": "1", "status": "OK", "value": "42"}
        assert time.monotonic() - t0 < NOT_LATE
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_blocking_get_over_the_channel_times_out_never_early(daemon):
    t0 = time.monotonic()
    r = peer(daemon, "get", "nothing", 0.5)
    took = time.monotonic() - t0
    assert r.returncode == 0, r
    assert words(r.stdout) == {"shm": "1", "status": "TIMEOUT", "value": "0"}
    assert 0.5 <= took < 0.5 + NOT_LATE + 0.5   # the process start included


@pytest.mark.parametrize("size", [100, 5000, 300000])
def test_values_larger_than_the_ring(make_daemon, size):
    d = make_daemon("-o", "shm_ring_size=4K")
    r = peer(d, "big", size)
    assert r.returncode == 0, r
    assert words(r.stdout) == {"shm": "1", "same": "1"}


def test_an_idle_shm_client_costs_no_cpu(daemon):
    p = subprocess.Popen([peer_bin(), daemon.sock_path, "idle", "20"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().split() == ["ready", "20", "20"]
        probe = daemon.connect()
        d0, p0 = cpu_seconds(daemon.pid), cpu_seconds(p.pid)
        assert probe.call("queue.get", "clock", 2.0).status == E.TIMEOUT   # two seconds, timed by the daemon
        used_d, used_p = cpu_seconds(daemon.pid) - d0, cpu_seconds(p.pid) - p0
        assert used_d < 0.05, "daemon used %.3f s of CPU in 2 s with 20 idle shm clients" % used_d
        assert used_p < 0.05, "idle shm clients used %.3f s of CPU in 2 s" % used_p
    finally:
        p.stdin.close()
        p.wait(timeout=10)


def daemon_cpu_per_ping(d, pings=20000):
    before = cpu_seconds(d.pid)
    r = peer(d, "ping", pings)
    assert r.returncode == 0, r
    assert words(r.stdout)["shm"] == "1"
    return (cpu_seconds(d.pid) - before) / pings


def test_a_thousand_idle_shm_clients_do_not_slow_the_busy_one(make_daemon):
    # Two daemons, one with 1000 idle shm clients, measured in turns: the
    # daemon's CPU per ping grows with the load on the machine (it polls
    # while the pinging client waits for a CPU), so rounds taken far apart
    # would compare loads, not daemons.
    alone_d = make_daemon("-o", "shm_ring_size=4K", "-o", "max_clients=2000")
    crowded_d = make_daemon("-o", "shm_ring_size=4K", "-o", "max_clients=2000")
    p = subprocess.Popen([peer_bin(), crowded_d.sock_path, "idle", "1000"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().split() == ["ready", "1000", "1000"]
        alone, crowded = [], []
        for _ in range(3):
            alone.append(daemon_cpu_per_ping(alone_d))
            crowded.append(daemon_cpu_per_ping(crowded_d))
        alone, crowded = min(alone), min(crowded)
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    print("daemon CPU per ping: %.2f us alone, %.2f us beside 1000 idle shm clients"
          % (alone * 1e6, crowded * 1e6))
    # Generous: a cost that grew with the idle clients would be ~1000x.
    assert crowded < 3 * alone + 2e-6, (alone, crowded)


def test_an_idle_ring_is_let_go_while_another_client_keeps_the_daemon_busy(make_daemon):
    """The daemon polls the rings of clients that sent recently. One that has
    gone quiet must leave that list (told, in its ring, that the daemon
    sleeps on it) after a poll window even if the loop itself never sleeps
    because another client keeps it busy: else every client that ever sent
    while the daemon was busy would be polled on every loop iteration."""
    window = 0.2   # the busy client's pings are far closer than this: the loop stays awake
    d = make_daemon("-o", "busy_poll=%d" % int(window * 1e6))
    busy = subprocess.Popen([peer_bin(), d.sock_path, "ping", "1000000000"], stdout=subprocess.DEVNULL)
    try:
        s = ShmClient(d)
        assert s.call("ping") == (0, "pong")
        assert not busy.poll(), "the busy client ended early"
        deadline = time.monotonic() + window + NOT_LATE
        while not u32(s.m, REQ_CONS_SLEEP):
            assert time.monotonic() < deadline, "the quiet ring is still polled"
            time.sleep(0.01)
        assert busy.poll() is None, "the busy client did not keep the daemon busy throughout"
        # Told so, it wakes the daemon with a byte and is served as before.
        assert s.call("ping") == (0, "pong")
    finally:
        busy.kill()
        busy.wait(timeout=30)


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_a_steady_pipeline_makes_no_system_calls(make_daemon):
    # The daemon sleeps when the client takes longer than busy_poll between
    # batches (a sanitizer build's client can): a wide window keeps it
    # awake, as a steady pipeline does with the default on a plain build.
    daemon = make_daemon("-o", "busy_poll=2000")
    def syscalls_between_markers(env):
        out = os.path.join(daemon.dir, "strace.%s" % env.get("IPCD_SHM", "on"))
        r = subprocess.run(["strace", "-f", "-qq", "-o", out, peer_bin(), daemon.sock_path, "pipeline",
                            "20000", "64"], capture_output=True, text=True, timeout=120,
                           # LeakSanitizer (an ASan build) cannot run under ptrace
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0", **env))
        assert r.returncode == 0, r
        with open(out) as f:
            lines = f.read().splitlines()
        begin = next(i for i, l in enumerate(lines) if 'write(1, "BEGIN' in l)
        end = next(i for i, l in enumerate(lines) if 'write(1, "END' in l)
        return words(r.stdout.replace("BEGIN", "").replace("END", ""))["shm"], end - begin - 1
    # The best of five runs: on a loaded machine (or a sanitizer build) a
    # run where the daemon was off the CPU for milliseconds has the client
    # sleep now and then.
    n_shm = None
    for _ in range(5):
        shm, n = syscalls_between_markers({})
        assert shm == "1"
        n_shm = n if n_shm is None else min(n_shm, n)
        if n_shm <= 20:
            break
    sock, n_sock = syscalls_between_markers({"IPCD_SHM": "0"})
    assert sock == "0"
    print("system calls for 20000 pipelined pings: %d over the channel, %d over the socket" % (n_shm, n_sock))
    assert n_sock >= 2 * (20000 // 64)          # the socket: a send and a recv per batch at least
    # The channel: none while both sides keep up (a plain build on an idle
    # machine makes 0 to 2); some when the daemon was off the CPU long
    # enough that the client went to sleep; never one per batch.
    # A sanitizer build runs both sides several times slower, so its client
    # sleeps more often: there, fewer calls than the socket's is the claim.
    with open(peer_bin(), "rb") as f:
        sanitized = b"__asan_init" in f.read()
    assert n_shm <= (n_sock * 2 // 3 if sanitized else n_sock // 4), (n_shm, n_sock)


# ---- another user -----------------------------------------------------------------

from test_access import NOBODY, open_daemon, pytestmark as _needs_root, setpriv  # noqa: E402,F401


@_needs_root
def test_requests_over_the_channel_are_checked_like_the_sockets(open_daemon):
    d = open_daemon
    root = d.connect()
    root.ok("create", "jobs", "queue", {"mode": 0o600})
    root.ok("queue.put", "jobs", 7, 0)
    p = subprocess.run(setpriv(NOBODY, NOBODY) + [peer_bin(), d.sock_path, "get", "jobs", "0"],
                       capture_output=True, text=True, timeout=120)
    w = words(p.stdout)
    assert (w.get("shm"), w.get("status")) == ("1", "PERMISSION"), (p.stdout, p.stderr)
    assert root.ok("queue.qsize", "jobs") == 1
    root.ok("chmod", "jobs", 0o666)
    p = subprocess.run(setpriv(NOBODY, NOBODY) + [peer_bin(), d.sock_path, "get", "jobs", "0"],
                       capture_output=True, text=True, timeout=120)
    assert words(p.stdout) == {"shm": "1", "status": "OK", "value": "7"}, (p.stdout, p.stderr)


# ---- a daemon that restarts ---------------------------------------------------------


def ring_inodes(pid):
    """The inodes of the channel memfds process pid has mapped."""
    with open("/proc/%d/maps" % pid) as f:
        return {int(line.split()[4]) for line in f if "memfd:ipcd-shm" in line}


def shm_names():
    return {n for n in os.listdir("/dev/shm") if "ipcd" in n}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_restarted_daemon_trusts_no_old_ring(make_daemon, tmp_path, sig):
    """The daemon stops (cleanly or killed) while a raw client and a
    libipcd client have their rings open, and another starts on the same
    socket and state: it maps none of the old rings, a request left in an
    old ring reaches nobody, libipcd's next call reconnects onto a fresh
    ring or fails cleanly, and nothing of the channel stays on disk."""
    state = str(tmp_path / "state")
    shm_before = shm_names()
    d1 = make_daemon("-o", "state_dir=" + state)
    raw = ShmClient(d1)
    assert raw.call("queue.put", "q", 1) == (0, 1)
    lib = subprocess.Popen([peer_bin(), d1.sock_path, "again"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    try:
        assert lib.stdout.readline().split() == ["shm", "1"]
        old = ring_inodes(d1.pid)
        assert raw.inode in old and len(old) == 2
        old_lib = ring_inodes(lib.pid)
        assert len(old_lib) == 1 and old_lib <= old

        # Signalled by hand: Daemon.stop would close the raw client first.
        d1.proc.send_signal(sig)
        assert d1.proc.wait(10) == (0 if sig == signal.SIGTERM else -signal.SIGKILL), d1.stderr()
        d1.proc = None
        d1._close_files()
        d2 = make_daemon("-o", "state_dir=" + state, sock_path=d1.sock_path)
        assert ring_inodes(d2.pid) == set(), "a fresh daemon maps no ring before anyone asks"

        # The raw client's socket ended with the old daemon; what it writes
        # into its old ring now is seen by no one.
        assert raw.closed()
        req = request_bytes(7, "queue.put", "q", 2)
        for i, byte in enumerate(req):
            raw.m[HEADER + (raw.head + i) % raw.ring] = byte
        raw.head += len(req)
        put32(raw.m, REQ_HEAD, raw.head)
        with pytest.raises(OSError):     # and no wake-up reaches anyone
            raw.c.sock.send(b"w")
        fresh = ShmClient(d2)
        assert fresh.inode not in old
        assert fresh.call("queue.qsize", "q") == (0, 1)
        assert fresh.call("queue.get", "q") == (0, 1)

        # libipcd's next call: a new connection with a new ring, or a clean
        # error; either way the old ring is no longer mapped.
        lib.stdin.write("again\n")
        lib.stdin.flush()
        w = words(lib.stdout.readline())
        assert w["status"] in ("OK", "EIO", "ECLOSED"), w
        now_lib = ring_inodes(lib.pid)
        assert not now_lib & old, "libipcd still maps the old daemon's ring"
        if w["status"] == "OK":
            assert w["shm"] == "1" and len(now_lib) == 1 and now_lib <= ring_inodes(d2.pid)
        else:
            assert w["shm"] == "0" and not now_lib
    finally:
        lib.stdin.close()
        lib.wait(10)
    raw.m.close()
    raw.c.close()
    fresh.c.close()
    d2.stop()
    assert shm_names() == shm_before, "the channel left files in /dev/shm"
    # The state dir holds the persistence files and nothing of the channel.
    left = [f for _, _, fs in os.walk(state) for f in fs]
    assert left and all(re.fullmatch(r"(log|snapshot)\.\d{6}", f) for f in left), left
