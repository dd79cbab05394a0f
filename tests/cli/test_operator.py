"""ipcctl's operator tools end to end: ls (long table), info, watch, monitor,
dump and load, colours and the progress bar.

JSON output is parsed, never grepped. Terminal behaviour is checked by
running ipcctl with a pseudo-terminal as its stdout (or stderr), read with a
deadline: headers, aligned columns (column start or end offsets equal on
every row), ANSI colours, none with NO_COLOR; piped, the same tables are
tab-separated without escapes. dump | load round trips are checked on the
daemon's own encoding: the bytes of its dump reply before and after.
"""
import json
import os
import re
import select
import signal
import subprocess
import threading
import time

import msgpack
import pytest

from conftest import CALL_TIMEOUT, check_no_sanitizer, die_with_parent, ipcctl_env, wire_client

WATCH_HEADERS = ["NAME", "TYPE", "SIZE", "WAITING", "PENDING", "RATE"]
LS_HEADERS = WATCH_HEADERS + ["MODE", "OWNER", "GROUP"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DUMP_PAGE = 1000            # ipcctl_dump.c: items per dump page


# ---- running ipcctl on a terminal -------------------------------------------------

class TtyRun:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "rc %r, stdout %r, stderr %r" % (self.rc, self.out[:2000], self.err[:2000])


def _read_master(master, sink, deadline):
    """Read the terminal's master side until EOF/EIO or the deadline."""
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.1)
        if not r:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:        # EIO: every slave side is closed
            return
        if not chunk:
            return
        sink.append(chunk)


def run_tty(ctl, *args, env=None, stdout_tty=True, stderr_tty=False, stdin=b"", timeout=CALL_TIMEOUT):
    """Run ipcctl ARGS with a pseudo-terminal as its stdout and/or stderr
    (the other side piped), stdin the bytes given or, for None, the
    terminal; returns a TtyRun with both decoded, the terminal's \\r\\n
    turned back into \\n."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(ctl.argv(args), stdin=slave if stdin is None else subprocess.PIPE,
                         stdout=slave if stdout_tty else subprocess.PIPE,
                         stderr=slave if stderr_tty else subprocess.PIPE,
                         env=ipcctl_env(env), preexec_fn=die_with_parent)
    os.close(slave)
    chunks = []
    reader = threading.Thread(target=_read_master, args=(master, chunks, time.monotonic() + timeout))
    reader.start()
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("ipcctl %r did not finish within %.0f s" % (args, timeout))
    finally:
        reader.join()
        os.close(master)
    tty = b"".join(chunks).decode().replace("\r\n", "\n")
    out = tty if stdout_tty else out.decode()
    err = tty if stderr_tty else err.decode()
    check_no_sanitizer(err)
    return TtyRun(p.returncode, out, err)


def run_input(ctl, args, data):
    """ipcctl ARGS with data on stdin, all piped: (rc, stdout, stderr)."""
    p = subprocess.run(ctl.argv(args), input=data, capture_output=True, timeout=CALL_TIMEOUT,
                       env=ipcctl_env(), preexec_fn=die_with_parent)
    err = p.stderr.decode()
    check_no_sanitizer(err)
    return p.returncode, p.stdout.decode(), err


def columns(table, headers):
    """Check that a terminal table (escapes removed) is aligned: text columns
    start under their header, number columns end under it. The rows."""
    lines = ANSI.sub("", table).splitlines()
    assert lines[0].split() == headers, lines[:2]
    heads = [m.span() for m in re.finditer(r"\S+", lines[0])]
    for ln in lines[1:]:
        cells = [m.span() for m in re.finditer(r"\S+", ln)]
        assert len(cells) == len(headers), (ln, lines)
        for h, c, name in zip(heads, cells, headers):
            if name in ("NAME", "TYPE", "MODE", "OWNER", "GROUP"):
                assert c[0] == h[0], (name, lines)       # text: left-aligned
            else:
                assert c[1] == h[1], (name, lines)       # numbers: right-aligned
    return [ln.split() for ln in lines[1:]]


def wait_until(what, cond, timeout=10.0):
    """Poll cond() until true; bounded."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for " + what


# ---- objects of every type -------------------------------------------------------

@pytest.fixture
def seeded(ctl):
    """jobs (queue, 3 items, one pending), log (list, 2), stats (dict, 4),
    cfg (ns, 1), empty (dict, 0)."""
    ctl.ok("queue", "put_many", "jobs", '[1, 2, 3]')
    ctl.ok("list", "extend", "log", '["a", "b"]')
    ctl.ok("dict", "update", "stats", '{"a": 1, "b": 2, "c": 3, "d": 4}')
    ctl.ok("ns", "set", "cfg", "mode", "fast")
    ctl.ok("create", "empty", "dict")
    assert ctl.json("queue", "get", "jobs", "--ack", "--lease", "60")["value"] == 1
    return ctl


# ---- ls ------------------------------------------------------------------------------

def test_ls_json_has_the_long_entries(seeded):
    ctl = seeded
    listed = ctl.json("ls")
    assert [e["name"] for e in listed] == ["cfg", "empty", "jobs", "log", "stats"]     # by name
    by = {e["name"]: e for e in listed}
    for e in listed:
        assert set(e) == {"name", "type", "size", "waiting", "pending", "ops", "rate", "owner", "group", "mode"}, e
    assert [by[n]["type"] for n in ("jobs", "log", "stats", "cfg", "empty")] == ["queue", "list", "dict", "ns", "dict"]
    assert (by["log"]["size"], by["stats"]["size"], by["cfg"]["size"], by["empty"]["size"]) == (2, 4, 1, 0)
    assert by["jobs"]["pending"] == 1 and by["jobs"]["size"] == ctl.json("stat", "jobs")["size"]
    assert by["jobs"]["ops"] >= 2


def test_ls_sort_and_type(seeded):
    ctl = seeded
    by_size = ctl.json("ls", "--sort", "size")
    assert [(-e["size"], e["name"]) for e in by_size] == sorted((-e["size"], e["name"]) for e in by_size)
    assert by_size[0]["name"] == "stats" and by_size[-1]["name"] == "empty"
    assert [e["name"] for e in ctl.json("ls", "--sort", "name")] == ["cfg", "empty", "jobs", "log", "stats"]
    by_rate = ctl.json("ls", "--sort", "rate")
    assert [(-e["rate"], e["name"]) for e in by_rate] == sorted((-e["rate"], e["name"]) for e in by_rate)
    # --type filters, with a pattern too
    assert [e["name"] for e in ctl.json("ls", "--type", "dict")] == ["empty", "stats"]
    assert [e["name"] for e in ctl.json("ls", "s*", "--type", "dict")] == ["stats"]
    assert ctl.json("ls", "--type", "list", "x*") == []
    rows = ctl.ok("ls", "--type", "queue", "--sort", "size").splitlines()
    assert rows[0].split("\t") == LS_HEADERS and [r.split("\t")[0] for r in rows[1:]] == ["jobs"]
    # the piped table: the same rows as the JSON, tab-separated, exact numbers
    # (but the rate, which moves between two runs)
    rows = [r.split("\t") for r in ctl.ok("ls", "--sort", "size").splitlines()[1:]]
    assert [r[:5] for r in rows] == [[e["name"], e["type"], str(e["size"]), str(e["waiting"]), str(e["pending"])]
                                     for e in by_size]
    assert all(r[5].isdigit() for r in rows)
    # usage errors
    assert "--sort" in ctl.fail(2, "ls", "--sort", "age")
    assert "--type" in ctl.fail(2, "ls", "--type", "set")
    assert "only to ls and watch" in ctl.fail(2, "stat", "jobs", "--sort", "size")


def test_ls_sort_by_rate_puts_the_busy_object_first(daemon, seeded):
    ctl = seeded
    c = wire_client(daemon)

    def busy():
        for _ in range(50):
            c.send("dict.incr", "stats", "hits")
        for _ in range(50):
            assert c.recv().status == 0
        c.ok("list.len", "log")
        listed = ctl.json("ls", "--sort", "rate")
        return listed[0]["name"] == "stats" and listed[0]["rate"] > 0 and \
            [e["rate"] for e in listed] == sorted((e["rate"] for e in listed), reverse=True)
    wait_until("a rate for stats", busy, timeout=15)


def test_ls_on_a_terminal_is_aligned_and_coloured(seeded):
    ctl = seeded
    r = run_tty(ctl, "ls")
    assert r.rc == 0 and r.err == "", r
    assert "\x1b[1mNAME" in r.out            # a bold header
    assert "\x1b[36mqueue\x1b[0m" in r.out    # type names coloured
    rows = columns(r.out, LS_HEADERS)
    assert [row[0] for row in rows] == ["cfg", "empty", "jobs", "log", "stats"]
    # NO_COLOR: the same table, no escape at all
    plain = run_tty(ctl, "ls", env={"NO_COLOR": "1"})
    assert plain.rc == 0 and "\x1b" not in plain.out, plain
    assert [row[:5] for row in columns(plain.out, LS_HEADERS)] == [row[:5] for row in rows]     # RATE moves
    # --color never / always
    assert "\x1b" not in run_tty(ctl, "ls", "--color", "never").out
    assert ctl.ok("ls", "--color", "always").startswith("\x1b[1mNAME")
    # --json on a terminal: no colour either
    j = run_tty(ctl, "--json", "ls")
    assert "\x1b" not in j.out and len(json.loads(j.out)) == 5
    # piped: tab-separated, no escapes
    out = ctl.ok("ls")
    assert "\x1b" not in out and out.splitlines()[0] == "\t".join(LS_HEADERS)


def test_error_messages_are_red_on_a_terminal_only(ctl):
    r = run_tty(ctl, "rm", "nothing", stdout_tty=False, stderr_tty=True)
    assert r.rc == 4 and r.err.startswith("\x1b[31mipcctl:\x1b[0m NOTFOUND: "), r
    r = run_tty(ctl, "rm", "nothing", stdout_tty=False, stderr_tty=True, env={"NO_COLOR": "1"})
    assert r.rc == 4 and r.err.startswith("ipcctl: NOTFOUND: "), r
    assert ctl.fail(4, "rm", "nothing").startswith("ipcctl: NOTFOUND: ")     # piped


# ---- info ------------------------------------------------------------------------------

INFO_KEYS = {"version", "protocol", "pid", "uptime", "clients", "clients_total", "objects", "objects_by_type",
             "memory", "max_memory", "ops", "errors", "ops_by_name", "socket", "config_file", "ops_per_sec",
             "errors_by_name", "max_clients", "monitors", "monitor_events"}


def test_info_json_and_sections(make_daemon):
    daemon = make_daemon("-o", "max_memory=1048576")
    from conftest import Ctl
    ctl = Ctl(daemon.sock_path)
    ctl.ok("queue", "put", "q", "1")
    ctl.ok("dict", "set", "d", "k", "v")
    ctl.fail(4, "rm", "missing")
    r = ctl.run("--json", "info")
    assert r.rc == 0 and r.out.count("\n") == 1, r
    info = json.loads(r.out)
    assert INFO_KEYS <= set(info), INFO_KEYS - set(info)
    assert info["socket"] == daemon.sock_path and info["max_memory"] == 1048576
    assert info["errors_by_name"].get("NOTFOUND") == 1

    out = ctl.ok("info")
    assert out.startswith("ipcd %s (protocol %d)\n" % (info["version"], info["protocol"]))
    lines = out.splitlines()
    for heading in ("Clients", "Objects", "Memory", "Ops", "Ops by name", "Errors by code"):
        assert heading in lines, heading

    fields = {}
    for ln in lines:
        m = re.fullmatch(r"  (\S+(?: \S+)*)\s{2,}(\S.*)", ln)
        if m:
            fields.setdefault(m.group(1), m.group(2))      # the first of a label (total: objects)

    def field(label):
        return fields[label]
    assert field("pid") == str(daemon.pid)
    assert field("socket") == daemon.sock_path
    assert field("config file") == "-"
    assert re.fullmatch(r"\d+s", field("uptime"))
    # two small objects: their values, names and structures
    assert re.fullmatch(r"(\d+ bytes|\d+\.\dK \(\d+ bytes\)) of 1\.0M \(\d+\.\d%\)", field("used")), field("used")
    assert field("queue") == "1" and field("dict") == "1" and field("list") == "0"
    assert field("NOTFOUND") == "1" and field("queue.put") == "1"
    assert "\x1b" not in out
    # on a terminal: bold headings
    t = run_tty(ctl, "info")
    assert t.rc == 0 and "\x1b[1mClients\x1b[0m" in t.out, t
    ctl.fail(2, "info", "extra")


# ---- watch ------------------------------------------------------------------------------

def test_watch_count_prints_snapshots(seeded):
    ctl = seeded
    out = ctl.ok("watch", "--count", "2", "--interval", "0.05")
    snaps = out.split("\n\n")
    # each snapshot: a header line, a blank line, the table; snapshots separated by a blank line
    heads = [ln for ln in out.splitlines() if ln.startswith("ipcd ")]
    assert len(heads) == 2, out
    for h in heads:
        assert re.match(r"ipcd \S+  up \S+  clients \d+  objects 5  ops/s \d+  memory \S+ / no limit$", h), h
    tables = [s for s in snaps if s.startswith("NAME\t")]
    assert len(tables) == 2
    for t in tables:
        rows = [ln.split("\t") for ln in t.splitlines()]
        assert rows[0] == WATCH_HEADERS and sorted(r[0] for r in rows[1:]) == ["cfg", "empty", "jobs", "log", "stats"]
    # --json: one object per refresh per line
    r = ctl.run("--json", "watch", "--count", "3", "--interval", "0.05", "--type", "dict")
    assert r.rc == 0 and r.err == "", r
    snaps = [json.loads(ln) for ln in r.out.splitlines()]
    assert len(snaps) == 3
    for s in snaps:
        assert INFO_KEYS <= set(s["info"]) and [e["name"] for e in s["objects"]] in (["empty", "stats"],
                                                                                    ["stats", "empty"])
    assert "only to watch" in ctl.fail(2, "ls", "--interval", "1")
    assert "--count" in ctl.fail(2, "watch", "--count", "0")
    assert "--interval" in ctl.fail(2, "watch", "--interval", "-1")


def test_watch_on_a_terminal_redraws_and_stops_on_ctrl_c(seeded):
    import pty
    ctl = seeded
    r = run_tty(ctl, "watch", "--count", "2", "--interval", "0.05")
    assert r.rc == 0 and r.err == "", r
    assert r.out.startswith("\x1b[?25l") and r.out.endswith("\x1b[?25h")     # cursor hidden, then back
    assert r.out.count("\x1b[H\x1b[2J") == 2
    columns(r.out.split("\x1b[H\x1b[2J")[-1].split("\n\n", 1)[1].replace("\x1b[?25h", ""), WATCH_HEADERS)
    # no --count: until Ctrl-C, which exits 0 with the terminal restored
    master, slave = pty.openpty()
    p = subprocess.Popen(ctl.argv(["watch", "--interval", "0.05"]), stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=subprocess.PIPE, env=ipcctl_env(), preexec_fn=die_with_parent)
    os.close(slave)
    chunks = []
    try:
        deadline = time.monotonic() + CALL_TIMEOUT
        while b"".join(chunks).count(b"\x1b[2J") < 2:
            assert time.monotonic() < deadline and p.poll() is None, chunks
            if select.select([master], [], [], 0.1)[0]:
                chunks.append(os.read(master, 65536))
        p.send_signal(signal.SIGINT)
        _read_master(master, chunks, time.monotonic() + CALL_TIMEOUT)
        assert p.wait(timeout=CALL_TIMEOUT) == 0
        err = p.stderr.read().decode()
        check_no_sanitizer(err)
        assert err == ""
        assert b"".join(chunks).endswith(b"\x1b[?25h")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
        os.close(master)


# ---- monitor ------------------------------------------------------------------------------

def attached(c, n=1):
    """Until the daemon's info (asked on connection c, whose own requests are
    events too) shows n monitors."""
    wait_until("%d monitor(s)" % n, lambda: c.call("info").result["monitors"] == n)


def test_monitor_json_sees_another_clients_request(daemon, ctl):
    c = wire_client(daemon)
    mon = ctl.spawn("--json", "monitor", "--count", "3")
    try:
        attached(c)          # one event: this info
        t0 = time.time()
        req = ctl.spawn("queue", "put", "jobs", "hello")     # two events: its hello, its put
        assert ctl.finish(req).rc == 0
        r = ctl.finish(mon, ("monitor",))
        assert r.rc == 0 and r.err == "", r
        events = [json.loads(ln) for ln in r.out.splitlines()]
        assert [e["op"] for e in events] == ["info", "hello", "queue.put"], events
        info, hello, put = events
        assert info["pid"] == os.getpid() and info["name"] is None
        assert put["pid"] == req.pid and hello["pid"] == req.pid
        assert put["name"] == "jobs" and put["client"] == hello["client"] != info["client"]
        assert put["size"] > len("jobs") + len("hello") and abs(put["time"] - t0) < 60
        assert set(put) >= {"time", "client", "pid", "op", "name", "size"}
    finally:
        if mon.poll() is None:
            mon.kill()
            mon.communicate()


def test_monitor_lines_and_ctrl_c(daemon, ctl):
    c = wire_client(daemon)
    mon = ctl.spawn("monitor", "--count", "2")
    try:
        attached(c)
        c.ok("dict.set", "stats", "k", "v")
        r = ctl.finish(mon, ("monitor",))
        assert r.rc == 0 and r.err == "", r
        lines = r.out.splitlines()
        assert len(lines) == 2
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)\.(\d{3})  client (\d+)  pid (\d+)  dict\.set  stats  (\d+) bytes",
                         lines[1])
        assert m and int(m.group(6)) == os.getpid(), lines
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}  client \d+  pid \d+  info  -  \d+ bytes", lines[0]), lines
    finally:
        if mon.poll() is None:
            mon.kill()
            mon.communicate()
    # without --count: until Ctrl-C, exit 0
    mon = ctl.spawn("monitor")
    try:
        attached(c)
        assert select.select([mon.stdout], [], [], CALL_TIMEOUT)[0], "no event printed"
        assert " info  -  " in mon.stdout.readline().decode()
        mon.send_signal(signal.SIGINT)
        r = ctl.finish(mon)
        assert r.rc == 0 and r.err == "" and r.out == "", r
    finally:
        if mon.poll() is None:
            mon.kill()
            mon.communicate()
    attached(c, 0)
    ctl.fail(2, "monitor", "extra")


# ---- dump and load --------------------------------------------------------------------------

# Values that JSON alone would not keep: each must come back with the same
# msgpack encoding.
SPECIAL = [
    b"\x00\x01\xfe\xff", b"",                        # bin
    msgpack.ExtType(5, b"xy"), msgpack.ExtType(127, b""),
    1.0, -0.0, 0.5, 1e300, -2.0, 3.0e-12,            # floats, whole ones too
    2**64 - 1, 2**63, 2**63 - 1, -2**63, 0, -1,      # integers, past int64 too
    "unicode ✓ 日本 🎉", "", "tab\tnl\n\x01 nul\x00", '"$bin"',
    {1: "int key", -5: [1, 2], "s": {2: {3: "deep"}}},            # maps with integer keys, nested
    {"$bin": "AAE="}, {"$map": 1}, {"$uint": "5"},                # maps that look like the reserved forms
    {b"bin key": 1, 2.5: 2, None: 3, True: 4, (1, 2): 5},        # keys of every kind
    {}, [], [[[]]], None, True, False,
]


def result_bytes(reply):
    """The encoded result of a raw reply [id, 0, result]: its bytes after the
    id and the status (the id differs between requests)."""
    body = reply.raw
    assert body[0] == 0x93, body[:4]
    n = {0xcc: 2, 0xcd: 3, 0xce: 5, 0xcf: 9}.get(body[1], 1)
    assert body[1 + n] == 0, "an error reply"
    return body[2 + n:]


def daemon_dump(c, name):
    """The daemon's own dump of name (one frame), as bytes; and its options."""
    return result_bytes(c.call("dump", name, use_list=False)), c.call("stat", name).result["options"]


def seed_every_type(c, big=2500):
    """big (queue of more than one dump page), lst, dct, nsx, and optq (with options)."""
    items = [("item %d" % i if i % 3 else i * 1.0 if i % 2 else {"n": i, i: b"\x00"}) for i in range(big)]
    items[7:7 + len(SPECIAL)] = SPECIAL
    for start in range(0, len(items), 500):
        c.ok("queue.put_many", "big", items[start:start + 500])
    c.ok("list.extend", "lst", SPECIAL)
    for i, v in enumerate(SPECIAL):
        c.ok("dict.set", "dct", v if isinstance(v, (int, float, str, bytes, bool, type(None))) else i, v)
    c.ok("dict.set", "dct", (1, "tuple"), "array key")
    for i, v in enumerate(SPECIAL):
        c.ok("ns.set", "nsx", "attr%d" % i, v)
    c.ok("create", "optq", "queue", {"maxsize": 3, "max_deliveries": 2})
    c.ok("queue.put_many", "optq", ["a", "b"])
    return {"big": len(items), "lst": len(SPECIAL), "dct": len(SPECIAL) + 1, "nsx": len(SPECIAL), "optq": 2}


def test_dump_load_round_trips_every_type_exactly(daemon, ctl):
    c = wire_client(daemon)
    sizes = seed_every_type(c)
    for name, size in sizes.items():
        before, options = daemon_dump(c, name)
        dump = ctl.ok("--json", "dump", name)
        d = json.loads(dump)
        assert d["name"] == name and d["type"] == c.call("type", name).result and len(d["items"]) == size
        assert d["options"] == options
        human = ctl.ok("dump", name)
        assert json.loads(human) == d and len(human.splitlines()) == size + 2
        ctl.ok("rm", name)
        rc, out, err = run_input(ctl, ["load", name], dump.encode())
        assert (rc, out, err) == (0, "", ""), err
        assert daemon_dump(c, name) == (before, options), name
        assert ctl.ok("--json", "dump", name) == dump
        # under another name: the same content
        rc, out, err = run_input(ctl, ["load", name + "-copy"], human.encode())
        assert rc == 0 and err == "", err
        assert daemon_dump(c, name + "-copy") == (before, options)
    # the big queue took more than one page to dump
    assert sizes["big"] > DUMP_PAGE * 2


def full_dump(c, name):
    """Every item of queue name as the daemon's full pages give them."""
    entries, cursor = [], 0
    while True:
        cursor, page = c.ok("dump", name, cursor, 100, {"full": True})
        entries += page
        if not cursor:
            return entries


def test_a_queue_dump_is_a_full_backup(daemon, ctl):
    # Pending deliveries, delayed items, priorities and delivery counts all
    # come back from a dump: loaded, the queue gives the same items in the
    # same order with the same counts, and a delay keeps its due time.
    c = wire_client(daemon)
    c.ok("create", "jobs", "queue", {"max_deliveries": 5})
    c.ok("queue.put_many", "jobs", ["p1", "p2"])
    c.ok("queue.put", "jobs", "again")
    c.ok("queue.put_many", "jobs", ["a", {"$n": 1}, "b"])
    c.ok("queue.put", "jobs", "urgent", None, {"priority": -3})
    c.ok("queue.put", "jobs", "low", None, {"priority": 7})
    c.ok("queue.put", "jobs", "later", None, {"delay": 300})
    consumer = wire_client(daemon)
    held = [consumer.ok("queue.get_ack", "jobs", 0) for _ in range(3)]   # urgent, p1, p2
    nacked = consumer.ok("queue.get_ack", "jobs", 0)                      # again: delivered once, back at the head
    consumer.ok("queue.nack", "jobs", nacked["id"])
    before = full_dump(c, "jobs")
    assert [e[0] for e in before] == ["urgent", "p1", "p2", "again", "a", {"$n": 1}, "b", "low", "later"]
    assert before[0][1] == {"priority": -3, "deliveries": 1, "pending": True}
    assert before[3][1] == {"deliveries": 1}
    assert before[8][1]["due"] > time.time() + 250

    dump = ctl.ok("--json", "dump", "jobs")
    d = json.loads(dump)
    assert [i for i, _ in d["extras"]] == [0, 1, 2, 3, 7, 8]
    rc, out, err = run_input(ctl, ["load", "copy"], dump.encode())
    assert (rc, out, err) == (0, "", ""), err
    after = full_dump(c, "copy")
    # the pending ones are ready now, first, as if their consumer had gone
    assert [e[0] for e in after] == [e[0] for e in before]
    for b, a in zip(before, after):
        extras = dict(b[1]) if len(b) > 1 else {}
        extras.pop("pending", None)
        got = dict(a[1]) if len(a) > 1 else {}
        assert abs(got.pop("due", 0) - extras.pop("due", 0)) < 2
        assert got == extras, (b, a)
    assert c.ok("stat", "copy")["options"] == c.ok("stat", "jobs")["options"]
    # what a consumer of the copy sees: order, and counts carried on
    got = [c.ok("queue.get_ack", "copy", 0) for _ in range(8)]
    assert [g["value"] for g in got] == ["urgent", "p1", "p2", "again", "a", {"$n": 1}, "b", "low"]
    assert [g["deliveries"] for g in got] == [2, 2, 2, 2, 1, 1, 1, 1]
    assert c.call("queue.get", "copy", 0).status == 9          # EMPTY: "later" is still delayed
    assert c.ok("queue.qsize", "copy") == 1
    # a put option of its own: deliveries, checked
    assert c.call("queue.put", "copy", "x", None, {"deliveries": -1}).status == 4
    assert c.call("dump", "copy", None, None, {"full": True}).status == 4   # full needs pages
    assert c.call("dump", "copy", 0, 10, {"fast": True}).status == 4


def test_load_into_an_existing_name(ctl):
    ctl.ok("list", "extend", "l", "[1, 2, 3]")
    dump = ctl.ok("--json", "dump", "l").encode()
    ctl.ok("list", "append", "l", "4")
    rc, out, err = run_input(ctl, ["load", "l"], dump)
    assert rc == 1 and out == "" and err.startswith("ipcctl: ") and "exists" in err and "--replace" in err
    assert ctl.json("list", "len", "l") == 4          # untouched
    rc, out, err = run_input(ctl, ["load", "l", "--replace"], dump)
    assert (rc, err) == (0, ""), err
    assert ctl.json("list", "range", "l") == [1, 2, 3]
    # an existing name of another type is replaced too
    ctl.ok("dict", "set", "d", "k", "v")
    assert run_input(ctl, ["load", "d", "--replace"], dump)[0] == 0
    assert ctl.ok("type", "d") == "list\n"
    # bad input, and usage
    for bad in (b"", b"{", b"[1]", b'{"type": "set", "items": []}', b'{"type": "dict", "items": [1]}',
                b'{"type": "ns", "items": [[1, 2]]}', b'{"type": "list"}'):
        rc, out, err = run_input(ctl, ["load", "x"], bad)
        assert rc == 1 and out == "" and err.startswith("ipcctl: load: "), (bad, err)
    assert ctl.run("exists", "x").rc == 4
    assert "only to load" in ctl.fail(2, "dump", "l", "--replace")
    ctl.fail(2, "load")
    ctl.fail(2, "load", "a", "b")
    r = run_tty(ctl, "load", "x", stdout_tty=False, stderr_tty=True, stdin=None)
    assert r.rc == 2 and "stdin" in r.err, r
    ctl.fail(4, "dump", "missing", code="NOTFOUND")


def test_progress_bar_on_a_terminal_only(daemon, ctl):
    c = wire_client(daemon)
    for start in range(0, 5000, 1000):
        c.ok("queue.put_many", "big", list(range(start, start + 1000)))
    # stderr a terminal, stdout piped: the bar, erased at the end
    r = run_tty(ctl, "--json", "dump", "big", stdout_tty=False, stderr_tty=True)
    assert r.rc == 0, r
    assert json.loads(r.out)["items"] == list(range(5000))
    assert re.search(r"dump \[[#.]{30}\] +\d+% \d+/5000 items", r.err), r.err
    assert r.err.endswith("\r\x1b[K")
    # stderr piped: nothing
    assert ctl.run("dump", "big").err == ""
    # load: the same bar
    r = run_tty(ctl, "load", "big2", stdout_tty=False, stderr_tty=True, stdin=r.out.encode())
    assert r.rc == 0 and r.out == "", r
    assert "load [" in r.err and "/5000 items" in r.err and r.err.endswith("\r\x1b[K")
    assert ctl.json("queue", "qsize", "big2") == 5000


def test_monitor_says_how_many_events_were_dropped(make_daemon):
    from conftest import Ctl
    daemon = make_daemon("-o", "monitor_buffer=4096")
    ctl = Ctl(daemon.sock_path)
    c = wire_client(daemon)
    mon = ctl.spawn("monitor")
    try:
        attached(c)
        # a monitor that reads nothing while the socket buffers fill up
        mon.send_signal(signal.SIGSTOP)
        for _ in range(20):
            for _ in range(1000):
                c.send("ping")
            for _ in range(1000):
                assert c.recv().status == 0
        mon.send_signal(signal.SIGCONT)
        # The marker comes with the next event that fits once the monitor
        # has drained: make requests until it shows.
        deadline, text, m = time.monotonic() + CALL_TIMEOUT, "", None
        while not m:
            assert time.monotonic() < deadline, "no dropped line in %r" % text[-500:]
            if select.select([mon.stdout], [], [], 0.2)[0]:
                text += os.read(mon.stdout.fileno(), 1 << 20).decode()
            else:
                c.ok("dict.set", "after", "k", "v")
            # the line, then the event it came with
            m = re.search(r"(?m)^\((\d+) events dropped\)\n(.*  (ping|dict\.set)  .* bytes)\n", text)
        dropped = int(m.group(1))
        # every whole line read is an event or a dropped line (the last
        # read may have ended inside a line)
        whole = text[:text.rfind("\n")].splitlines()
        assert all(ln.endswith(" bytes") or re.fullmatch(r"\(\d+ events dropped\)", ln) for ln in whole), whole[-5:]
        assert 0 < dropped <= 20000
        assert c.call("info").result["monitor_dropped"] >= dropped
        mon.send_signal(signal.SIGINT)
        assert mon.wait(timeout=CALL_TIMEOUT) == 0
    finally:
        if mon.poll() is None:
            mon.kill()
        mon.communicate()
