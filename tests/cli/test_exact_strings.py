"""A str that is not UTF-8 (the daemon stores any str) prints in the exact
form {"$str": "<base64>"}, so that dump | load restores it byte for byte."""
import base64
import json
import subprocess

import msgpack

from conftest import CALL_TIMEOUT, ipcctl_env, wire_client

RAW = b"a\xff\xfeb"                 # not UTF-8
RAW_STR = b"\xa4" + RAW             # msgpack fixstr of those 4 bytes
FORM = {"$str": base64.b64encode(RAW).decode()}


def _seed(c, rid, op, name, *raw_args):
    body = bytes([0x90 | (3 + len(raw_args))]) + msgpack.packb(rid) + msgpack.packb(op) + msgpack.packb(name)
    body += b"".join(raw_args)
    c.send_raw(len(body).to_bytes(4, "big") + body)
    r = c.recv(raw=True)
    assert r.id == rid and r.status == 0, r


def test_dump_and_load_keep_a_str_that_is_not_utf8(daemon, ctl):
    c = wire_client(daemon)
    _seed(c, 9001, "list.append", "l", RAW_STR)
    _seed(c, 9002, "dict.set", "d", RAW_STR, RAW_STR)
    assert ctl.json("list", "get", "l", "0") == FORM
    dumps = {}
    for name in ("l", "d"):
        r = ctl.run("--json", "dump", name)
        assert r.rc == 0, r
        dumps[name] = r.out
    assert json.loads(dumps["l"])["items"] == [FORM]
    assert "\ufffd" not in dumps["d"] and FORM["$str"] in dumps["d"]
    for name, new in (("l", "l2"), ("d", "d2")):
        p = subprocess.run(ctl.argv(["load", new]), input=dumps[name].encode(), capture_output=True,
                           timeout=CALL_TIMEOUT, env=ipcctl_env())
        assert p.returncode == 0, p
    st, got = c.call("list.get", "l2", 0, raw=True)
    assert st == 0 and got == RAW, got
    st, got = c.call("dict.items", "d2", raw=True)
    assert st == 0 and RAW_STR + RAW_STR in msgpack.packb(got, use_bin_type=False), got


def test_the_str_form_is_read_from_the_command_line(daemon, ctl):
    c = wire_client(daemon)
    ctl.ok("list", "append", "l3", json.dumps(FORM))
    st, got = c.call("list.get", "l3", 0, raw=True)
    assert st == 0 and got == RAW, got
