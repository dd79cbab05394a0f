"""The config file: every key parsed, every bad value reported with its file
and line, --check-config, the command line over the file, SIGHUP reload
applied live, a bad reload rejected whole, a socket change kept as it was.

Reloads are synchronised on the daemon's own sd_notify messages (RELOADING=1,
then READY=1 once the new settings are live), never on sleeps."""
import grp
import os
import signal
import socket
import subprocess
import time

import pytest

import ipcd_testlib
from ipcwire import E, frame, nested, ping_body
from test_limits import refused

KEYS = ["socket", "socket_mode", "socket_group", "max_frame", "max_name", "max_depth",
        "max_clients", "max_output", "max_memory", "queue_maxsize", "monitor_buffer", "busy_poll", "log_level",
        "watchdog", "status_interval"]

CONF_DIR = os.path.join(os.path.dirname(ipcd_testlib.TESTS_DIR), "conf")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def check_config(path):
    p = subprocess.run([ipcd_testlib.ipcd_bin(), "--check-config", path], capture_output=True,
                       text=True, timeout=30, env=ipcd_testlib.sanitizer_env(dict(os.environ)))
    assert ipcd_testlib.sanitizer_report(p.stderr) is None, p.stderr
    return p.returncode, p.stdout, p.stderr


def other_group():
    """A group the test may give the socket to (we are root, or it is ours)."""
    gid = os.getgid()
    if os.geteuid() == 0:
        for g in grp.getgrall():
            if g.gr_gid != gid:
                return g.gr_name, g.gr_gid
    return grp.getgrgid(gid).gr_name, gid


def reload(d, expect_ok=True):
    """SIGHUP d and wait for RELOADING=1 then READY=1 (bounded)."""
    d.notify.setblocking(False)
    try:
        while True:
            d.notify.recv(4096)
    except BlockingIOError:
        pass
    d.proc.send_signal(signal.SIGHUP)
    seen = []
    deadline = time.monotonic() + ipcd_testlib.READY_TIMEOUT
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no READY=1 after SIGHUP; got %r; stderr:\n%s" % (seen, d.stderr())
        d.notify.settimeout(left)
        lines = d.notify.recv(4096).split(b"\n")
        seen.append(lines)
        if b"READY=1" in lines:
            break
    assert any(b"RELOADING=1" in m for m in seen), seen
    assert any(l.startswith(b"MONOTONIC_USEC=") for m in seen for l in m), seen
    return seen


# ---- the shipped file ------------------------------------------------------------

def test_shipped_conf_is_valid_and_documents_every_key():
    path = os.path.join(CONF_DIR, "ipcd.conf")
    assert check_config(path)[0] == 0
    text = open(path).read()
    for key in KEYS:
        assert "\n#%s =" % key in text, "conf/ipcd.conf does not document %s" % key


def test_shipped_conf_uncommented_is_the_defaults(tmp_path, make_daemon):
    # Every key uncommented at the value it shows: valid, and the same daemon.
    text = open(os.path.join(CONF_DIR, "ipcd.conf")).read()
    lines = [l[1:] if any(l.startswith("#%s =" % k) for k in KEYS) else l for l in text.split("\n")]
    conf = write(tmp_path / "all.conf", "\n".join(lines))
    assert check_config(str(conf))[0] == 0
    d = make_daemon("--config", str(conf))
    c = d.connect()
    assert c.hello_reply["max_frame"] == 16 << 20 and c.hello_reply["max_name"] == 255
    assert c.ok("info")["max_memory"] == 0


def test_help_lists_every_key():
    out = subprocess.run([ipcd_testlib.ipcd_bin(), "--help"], capture_output=True, text=True,
                         timeout=30).stdout
    for key in KEYS:
        assert key in out
    assert "--check-config" in out and "--config" in out


# ---- every key parsed ------------------------------------------------------------

def test_every_key_is_applied(tmp_path, make_daemon):
    gname, gid = other_group()
    sock = str(tmp_path / "from-file.sock")
    conf = write(tmp_path / "ipcd.conf", """
; a comment
# another
[ipcd]
socket = %s
socket_mode = 0600
socket_group = %s
max_frame = 2K
max_name = 12
max_depth = 3
max_clients = 5
max_output = 8K
max_memory = 1M
queue_maxsize = 2
monitor_buffer = 8K
busy_poll = 0
log_level = debug
watchdog = no
status_interval = 0
""" % (sock, gname))
    d = make_daemon("--config", str(conf), start=False, sock_path=sock)
    # The fixture passes --socket; the file's socket must be the same path here.
    d.start()
    st = os.stat(sock)
    assert st.st_mode & 0o777 == 0o600
    assert st.st_gid == gid
    c = d.connect()
    assert c.hello_reply["max_frame"] == 2048 and c.hello_reply["max_name"] == 12
    assert c.ok("info")["max_memory"] == 1 << 20
    assert c.err("exists", "x" * 13) == E.BADNAME
    assert c.err("list.append", "l", nested(4)) == E.BADVALUE
    assert c.ok("list.append", "l", nested(3)) == 1
    # queue_maxsize: a queue made by a put gets it; an explicit maxsize wins.
    assert c.ok("queue.put", "q", 1) == 1 and c.ok("queue.put", "q", 2) == 2
    assert c.err("queue.put", "q", 3, 0) == E.FULL
    assert c.ok("stat", "q")["options"]["maxsize"] == 2
    assert c.ok("create", "big", "queue", {"maxsize": 0}) is True
    for i in range(5):
        c.ok("queue.put", "big", i)
    # log_level = debug: connects are logged.
    assert "connected" in d.stderr()


def test_socket_key_used_without_socket_option(tmp_path, make_daemon):
    sock = str(tmp_path / "s.sock")
    conf = write(tmp_path / "c.conf", "socket = %s\n" % sock)
    d = make_daemon("--config", str(conf), pass_socket=False, sock_path=sock)
    assert d.connect().ok("ping") == "pong"


@pytest.mark.parametrize("text,value", [
    ("max_frame = 64", 64), ("max_frame = 4k", 4096), ("max_frame = 3M", 3 << 20),
    ("max_frame = 1G", 1 << 30), ("max_frame=2G", 2 << 30),
])
def test_sizes(tmp_path, make_daemon, text, value):
    conf = write(tmp_path / "c.conf", text + "\nmax_output = 3G\n")
    c = make_daemon("--config", str(conf)).connect()
    assert c.hello_reply["max_frame"] == value


def test_keys_before_any_section_and_last_one_wins(tmp_path, make_daemon):
    conf = write(tmp_path / "c.conf", "max_name = 10\n[ipcd]\nmax_name = 11\n")
    assert make_daemon("--config", str(conf)).connect().hello_reply["max_name"] == 11


def test_command_line_overrides_the_file(tmp_path, make_daemon):
    conf = write(tmp_path / "c.conf", "max_name = 10\nmax_frame = 4K\n")
    c = make_daemon("--config", str(conf), "-o", "max_name=20").connect()
    assert (c.hello_reply["max_name"], c.hello_reply["max_frame"]) == (20, 4096)


# ---- every bad value, with its line ------------------------------------------------

BAD = [
    ("bogus = 1", "unknown key 'bogus'"),
    ("Max_Frame = 1M", "unknown key 'Max_Frame'"),
    ("socket_mode = 0800", "bad value '0800' for socket_mode"),
    ("socket_mode = rw", "bad value 'rw' for socket_mode"),
    ("socket_mode = 01777", "bad value '01777' for socket_mode"),
    ("socket_mode =", "bad value '' for socket_mode"),
    ("socket_group = no-such-group-ipcd-test", "no such group 'no-such-group-ipcd-test'"),
    ("max_frame = 12x", "bad value '12x' for max_frame"),
    ("max_frame = abc", "bad value 'abc' for max_frame: expected a byte count, optionally with a k, M or G"),
    ("socket_mode = rw", "bad value 'rw' for socket_mode: expected an octal file mode, such as 0660"),
    ("max_clients = many", "bad value 'many' for max_clients: expected a whole number"),
    ("max_frame = -1", "bad value '-1' for max_frame"),
    ("max_frame = 32", "max_frame must be between 64 and 2147483648"),
    ("max_frame = 3G", "max_frame must be between 64 and 2147483648"),
    ("max_frame = 99999999999999999999", "bad value"),
    ("max_name = 0", "max_name must be between 1 and 65535"),
    ("max_name = 1K", "bad value '1K' for max_name"),
    ("max_depth = 31", "max_depth must be between 1 and 30"),
    ("max_clients = 0", "max_clients must be between 1 and 1000000"),
    ("max_clients = many", "bad value 'many' for max_clients"),
    ("max_output = 1K", "max_output must be between 4096"),
    ("max_memory = lots", "bad value 'lots' for max_memory"),
    ("queue_maxsize = -3", "bad value '-3' for queue_maxsize"),
    ("queue_maxsize = 1M", "bad value '1M' for queue_maxsize"),
    ("monitor_buffer = 1K", "monitor_buffer must be between 4096"),
    ("monitor_buffer = big", "bad value 'big' for monitor_buffer"),
    ("busy_poll = 2000000", "busy_poll must be between 0 and 1000000"),
    ("busy_poll = soon", "bad value 'soon' for busy_poll"),
    ("log_level = loud", "bad value 'loud' for log_level"),
    ("watchdog = maybe", "bad value 'maybe' for watchdog"),
    ("status_interval = 86401", "status_interval must be between 0 and 86400"),
    ("[server]\nmax_name = 3", "unknown section [server]"),
    ("just words", "syntax error"),
    ("max_name = " + "9" * 200, "line longer than"),
]


@pytest.mark.parametrize("line,reason", BAD, ids=[b[0].split("\n")[-1][:24] for b in BAD])
def test_bad_line_is_reported_with_file_and_line(tmp_path, line, reason):
    conf = str(tmp_path / "bad.conf")
    write(conf, "# ok so far\n[ipcd]\nmax_name = 100\n" + line + "\nmax_clients = 9\n")
    rc, out, err = check_config(conf)
    assert rc == 1
    lineno = 4 + line.count("\n")
    assert "%s:%d: %s" % (conf, lineno, reason) in err, err


def test_every_bad_line_is_reported(tmp_path):
    conf = str(tmp_path / "bad.conf")
    write(conf, "max_name = 0\nok_not = 1\nmax_frame = 1M\nlog_level = x\n")
    rc, out, err = check_config(conf)
    assert rc == 1
    assert [l.split(conf + ":")[1].split(":")[0] for l in err.strip().split("\n")] == ["1", "2", "4"], err


def test_check_config_ok_and_missing(tmp_path):
    conf = write(tmp_path / "good.conf", "[ipcd]\nmax_name = 7\n")
    rc, out, err = check_config(str(conf))
    assert (rc, err) == (0, "")
    assert "ok" in out
    rc, out, err = check_config(str(tmp_path / "missing.conf"))
    assert rc == 1 and "missing.conf: cannot read" in err


def test_daemon_refuses_to_start_with_a_bad_file(tmp_path, make_daemon):
    conf = write(tmp_path / "bad.conf", "max_name = 100\nmax_clients = none\n")
    d = make_daemon("--config", str(conf), start=False)
    d.spawn()
    assert d.exit_code() == 1
    assert not d.said_ready
    assert "bad.conf:2: bad value 'none' for max_clients" in d.stderr()
    d2 = make_daemon("--config", str(tmp_path / "nothing-here.conf"), start=False)
    d2.spawn()
    assert d2.exit_code() == 1
    assert "cannot read" in d2.stderr()


# ---- SIGHUP reload ---------------------------------------------------------------

@pytest.mark.socket_only('a 4K max_memory, which the rings alone pass')
def test_reload_applies_limits_and_log_level_live(tmp_path, make_daemon):
    conf = write(tmp_path / "c.conf", "max_name = 10\nmax_memory = 0\nlog_level = info\n")
    d = make_daemon("--config", str(conf))
    c = d.connect()
    assert c.ok("queue.put", "a" * 10, "x" * 5000) == 1
    assert c.err("exists", "a" * 11) == E.BADNAME
    write(conf, "max_name = 20\nmax_memory = 4K\nmax_frame = 1K\nmax_depth = 2\n"
          "max_clients = 3\nqueue_maxsize = 1\nlog_level = debug\n")
    reload(d)
    # The same connection sees the new limits.
    assert c.ok("exists", "a" * 20) is False
    assert c.err("exists", "a" * 21) == E.BADNAME
    assert c.err("list.append", "l", "y" * 100) == E.NOMEM       # 5000 bytes stored > 4K
    assert c.ok("queue.get", "a" * 10) == "x" * 5000             # reads and deletes still work
    assert c.ok("info")["max_memory"] == 4096
    assert c.err("list.append", "l", nested(3)) == E.BADVALUE
    assert c.ok("queue.put", "nq", 1) == 1 and c.err("queue.put", "nq", 2, 0) == E.FULL
    c2 = d.connect()
    assert c2.hello_reply["max_frame"] == 1024
    c3 = d.connect()
    refused(d.sock_path)                     # max_clients = 3: the 4th is refused
    # log_level = debug now: connects and error replies are logged.
    assert "connected" in d.stderr()
    assert "config reloaded" in d.stderr()
    c2.send_raw(frame(ping_body(2000, rid=9)))
    assert c2.recv().status == E.TOOBIG
    assert c3.ok("ping") == "pong"


def test_bad_reload_is_rejected_whole(tmp_path, make_daemon):
    conf = write(tmp_path / "c.conf", "max_name = 10\n")
    d = make_daemon("--config", str(conf))
    c = d.connect()
    # The first key is fine, the second is not: nothing of it applies.
    write(conf, "max_name = 50\nmax_frame = huge\nmax_memory = 1K\n")
    reload(d)
    assert c.err("exists", "a" * 11) == E.BADNAME
    assert c.ok("info")["max_memory"] == 0
    assert c.ok("list.append", "l", "z" * 2000) == 1
    err = d.stderr()
    assert "c.conf:2: bad value 'huge' for max_frame" in err
    assert "rejected" in err
    # A fixed file applies on the next reload.
    write(conf, "max_name = 50\n")
    reload(d)
    assert c.ok("exists", "a" * 50) is False


def test_reload_keeps_the_socket_path(tmp_path, make_daemon):
    sock = str(tmp_path / "first.sock")
    conf = write(tmp_path / "c.conf", "socket = %s\n" % sock)
    d = make_daemon("--config", str(conf), pass_socket=False, sock_path=sock)
    c = d.connect()
    write(conf, "socket = %s\nmax_name = 30\nsocket_mode = 0600\n" % str(tmp_path / "second.sock"))
    reload(d)
    assert "socket path cannot change" in d.stderr()
    assert not os.path.exists(tmp_path / "second.sock")
    assert os.stat(sock).st_mode & 0o777 == 0o600          # the mode applies live
    assert c.ok("ping") == "pong"
    assert d.connect().hello_reply["max_name"] == 30


def test_reload_without_a_file_keeps_command_line(make_daemon):
    d = make_daemon("-o", "max_name=9")
    reload(d)
    assert d.connect().hello_reply["max_name"] == 9
    assert d.alive()
