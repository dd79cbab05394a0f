"""Client bytes in log lines: names and messages are escaped, so a client
cannot forge a log line or write bytes that are not text."""
import struct

from ipcwire import E, frame, unpack


def test_newline_in_an_object_name_cannot_forge_a_log_line(make_daemon):
    daemon = make_daemon("-o", "log_level=debug")  # refused requests log at debug
    c = daemon.connect()
    name = "x\nipcd: error: FORGED"
    assert c.ok("dict.set", name, "k", 1) is None
    assert c.err("queue.put", name, 1) == E.WRONGTYPE
    assert c.ok("ping") == "pong"
    err = daemon.stderr()
    lines = err.splitlines()
    assert not any(l.startswith("ipcd: error: FORGED") for l in lines), err
    assert any("x\\nipcd: error: FORGED" in l and l.startswith("ipcd: debug: ") for l in lines), err


def test_control_bytes_and_invalid_utf8_are_escaped(make_daemon):
    daemon = make_daemon("-o", "log_level=debug")
    c = daemon.connect()
    # An op name of raw bytes: a tab, ESC, DEL, a backslash, a C1 control
    # (U+0085), invalid UTF-8 (a lone continuation byte, a truncated
    # sequence) and a valid two-byte character, which stays as it is.
    op = b"a\tb\x1b[31m\x7f\\\xc2\x85\x80\xe2\x82z\xc3\xa9"
    body = b"\x93\x07" + b"\xd9" + struct.pack("B", len(op)) + op + b"\x90"
    c.send_raw(frame(body))
    rid, status, _ = unpack(c.recv_frame(), raw=True)
    assert (rid, status) == (7, E.BADOP)
    assert c.ok("ping") == "pong"
    with open(daemon.stderr_path, "rb") as f:
        raw = f.read()
    line = next(l for l in raw.split(b"\n") if b"unknown op" in l)
    assert b"a\\tb\\x1b[31m\\x7f\\\\\\xc2\\x85\\x80\\xe2\\x82z\xc3\xa9" in line, line
    assert not any(ch < 0x20 for ch in line), line
    line.decode("utf-8")
