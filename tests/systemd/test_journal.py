"""Logging to the journal, for real, with no journald on the machine.

ipcd logs with sd_journal_send when JOURNAL_STREAM names its stderr. The
journal's socket has a fixed path, /run/systemd/journal/socket, so these
tests run journal_probe.py under `unshare -m --propagation private`: in that
private mount namespace the probe mounts a tmpfs on /run and binds the
socket itself, points JOURNAL_STREAM at ipcd's stderr file, makes ipcd log a
connect (debug), a WRONGTYPE on an object whose name holds a newline (debug,
with OBJECT and CLIENT_PID), a NOMEM (warning) and a disconnect, and hands
back every datagram. Here they are parsed as the journal's native protocol
("KEY=value\\n", or "KEY\\n" + le64 size + bytes + "\\n" for a value with a
newline) and checked field by field. The same run without a journal socket,
and with a dead one, must give the same messages as plain lines on stderr.

Without JOURNAL_STREAM, or with one that is not stderr, lines are plain.

Needs root (for the namespace and the mount); skipped otherwise. As root, a
failing unshare is a failure, not a skip: CI runs as root.
"""
import base64
import json
import os
import re
import struct
import subprocess
import sys

import pytest

import ipcd_testlib
from ipcwire import E, Client

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "journal_probe.py")
PROBE_TIMEOUT = 60
LEVEL_WORDS = ["emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"]


# ---- the journal's native protocol --------------------------------------------------

def parse_native(data):
    """One datagram of the journal native protocol -> list of (KEY, bytes)."""
    fields, i = [], 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            (size,) = struct.unpack_from("<Q", data, nl + 1)
            start = nl + 9
            value = data[start:start + size]
            assert len(value) == size and data[start + size:start + size + 1] == b"\n", \
                "bad binary field %r in %r" % (key, data)
            i = start + size + 1
        assert re.fullmatch(rb"[A-Z0-9][A-Z0-9_]*", key), "bad field name %r in %r" % (key, data)
        fields.append((key.decode(), value))
    return fields


def test_parse_native():
    assert parse_native(b"A=1\nB\n\x03\x00\x00\x00\x00\x00\x00\x00x\nz\nC=\n") == \
        [("A", b"1"), ("B", b"x\nz"), ("C", b"")]


def entries(result):
    """The probe's datagrams as dicts, each key once."""
    out = []
    for d in result["datagrams"]:
        fields = parse_native(base64.b64decode(d))
        keys = [k for k, _ in fields]
        assert len(keys) == len(set(keys)), "a field twice: %r" % fields
        out.append(dict(fields))
    return out


# ---- the probe --------------------------------------------------------------------------

def run_probe(mode):
    if os.geteuid() != 0:
        pytest.skip("needs root: a private mount namespace and a tmpfs on /run")
    env = dict(os.environ, IPCD_BIN=ipcd_testlib.ipcd_bin(), PYTHONDONTWRITEBYTECODE="1")
    try:
        p = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, PROBE, mode],
                           stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail("journal_probe %s ran over %d s; stderr:\n%s"
                    % (mode, PROBE_TIMEOUT, (e.stderr or b"").decode(errors="replace")))
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0, "unshare/journal_probe %s exited %d; stderr:\n%s" % (mode, p.returncode, err)
    result = json.loads(p.stdout)
    assert result["returncode"] == 0, "ipcd exited %r; stderr:\n%s" % (result["returncode"], result["stderr"])
    assert ipcd_testlib.sanitizer_report(result["stderr"]) is None, result["stderr"]
    return result


@pytest.fixture(scope="module")
def journal_run():
    return run_probe("journal")


def test_journal_gets_everything_and_stderr_nothing(journal_run):
    assert journal_run["stderr"] == "", "ipcd wrote to stderr while the journal took its messages"
    es = entries(journal_run)
    assert len(es) >= 6, es
    for e in es:
        assert set(e) >= {"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"}, e
        assert e["SYSLOG_IDENTIFIER"] == b"ipcd", e
        assert e["PRIORITY"] in [b"%d" % n for n in range(8)], e
        assert set(e) <= {"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CLIENT_PID", "OBJECT", "ERRNO"}, e
    messages = [e["MESSAGE"] for e in es]
    assert messages[0].startswith(b"ipcd ") and b" listening on " in messages[0], messages
    assert messages[-1] == b"stopped", messages


def find(es, pred, what):
    found = [e for e in es if pred(e)]
    assert len(found) == 1, "%d entries for %s in %r" % (len(found), what, es)
    return found[0]


def test_connect_and_disconnect_are_debug_with_client_pid(journal_run):
    es = entries(journal_run)
    pid = b"%d" % journal_run["client_pid"]
    e = find(es, lambda e: b" connected: " in e["MESSAGE"], "the connect")
    assert e["PRIORITY"] == b"7"
    assert e["CLIENT_PID"] == pid
    assert e["MESSAGE"] == b"client 1 connected: pid %s uid 0" % pid
    assert "OBJECT" not in e and "ERRNO" not in e
    e = find(es, lambda e: b") closed: " in e["MESSAGE"], "the disconnect")
    assert e["PRIORITY"] == b"7" and e["CLIENT_PID"] == pid and "OBJECT" not in e


def test_refused_request_is_debug_with_object_and_client_pid(journal_run):
    es = entries(journal_run)
    pid = b"%d" % journal_run["client_pid"]
    name = journal_run["object"].encode()
    assert b"\n" in name                 # a client cannot forge a journal line with it:
    shown = name.replace(b"\n", b"\\n")  # both fields carry it escaped
    e = find(es, lambda e: b"WRONGTYPE" in e["MESSAGE"], "the WRONGTYPE")
    assert e["PRIORITY"] == b"7"
    assert e["CLIENT_PID"] == pid
    assert e["OBJECT"] == shown
    assert e["MESSAGE"] == b"client 1 (pid %s): WRONGTYPE: '%s' is a list, not a queue" % (pid, shown)


def test_limit_breach_is_warning_with_object_and_client_pid(journal_run):
    es = entries(journal_run)
    pid = b"%d" % journal_run["client_pid"]
    e = find(es, lambda e: b"NOMEM" in e["MESSAGE"], "the NOMEM")
    assert e["PRIORITY"] == b"4"
    assert e["CLIENT_PID"] == pid
    assert e["OBJECT"] == journal_run["nomem_object"].encode()
    assert e["MESSAGE"] == b"client 1 (pid %s): NOMEM: max_memory (4096 bytes) reached" % pid


def test_daemon_lines_have_no_client_fields(journal_run):
    for e in entries(journal_run):
        if not e["MESSAGE"].startswith(b"client "):
            assert "CLIENT_PID" not in e and "OBJECT" not in e, e


def as_plain(result):
    """The journal run's messages as the plain lines they stand for, pids
    made neutral."""
    return "".join("ipcd: %s: %s\n" % (LEVEL_WORDS[int(e["PRIORITY"])], e["MESSAGE"].decode())
                   for e in entries(result))


def neutral(text):
    return re.sub(r"pid \d+", "pid N", text)


@pytest.mark.parametrize("mode", ["nosocket", "stale"])
def test_no_journal_falls_back_to_plain_lines(journal_run, mode):
    """JOURNAL_STREAM names stderr, but there is no journal socket (nosocket)
    or nobody reads it (stale): every message is a plain line on stderr,
    the same messages the journal got in the other run."""
    r = run_probe(mode)
    assert r["datagrams"] == []
    assert neutral(r["stderr"]) == neutral(as_plain(journal_run))


# ---- plain lines, no namespace needed -----------------------------------------------

@pytest.fixture
def daemon_factory():
    yield from ipcd_testlib.daemon_factory()


def plain_run(make, monkeypatch, journal_stream):
    if journal_stream is None:
        monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    else:
        monkeypatch.setenv("JOURNAL_STREAM", journal_stream)
    d = make("-o", "log_level=debug", "-o", "max_memory=4096")
    c = Client(d.sock_path, name="plain")
    pid = os.getpid()
    c.ok("list.append", "l", 1)
    assert c.err("queue.put", "l", 2) == E.WRONGTYPE
    assert c.err("list.append", "big", "x" * 8192) == E.NOMEM
    c.close()
    d.stop()
    lines = d.stderr().splitlines()
    assert lines[0].startswith("ipcd: info: ipcd ") and " listening on " in lines[0], lines
    assert "ipcd: debug: client 1 connected: pid %d uid %d" % (pid, os.getuid()) in lines
    assert "ipcd: debug: client 1 (pid %d): WRONGTYPE: 'l' is a list, not a queue" % pid in lines
    assert "ipcd: warning: client 1 (pid %d): NOMEM: max_memory (4096 bytes) reached" % pid in lines
    assert any(re.fullmatch(r"ipcd: debug: client 1 \(pid %d\) closed: .*" % pid, ln) for ln in lines), lines
    assert lines[-1] == "ipcd: info: stopped", lines
    for ln in lines:
        assert re.fullmatch(r"ipcd: (%s): \S.*" % "|".join(LEVEL_WORDS), ln), ln


def test_plain_lines_without_journal_stream(daemon_factory, monkeypatch):
    plain_run(daemon_factory, monkeypatch, None)


def test_plain_lines_when_journal_stream_is_not_stderr(daemon_factory, monkeypatch, tmp_path):
    """systemd's JOURNAL_STREAM inherited by an ipcd whose stderr was
    redirected elsewhere: that stream is not ours, so plain lines."""
    other = tmp_path / "other"
    other.write_bytes(b"")
    st = os.stat(other)
    plain_run(daemon_factory, monkeypatch, "%d:%d" % (st.st_dev, st.st_ino))
