"""The package's generated op and error tables match proto/ops.def and
proto/errors.def (the package cannot read them once installed)."""
import os
import sys

import pytest

import ipcd
from ipcd import _tables, errors

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import gen_tables  # noqa: E402


def test_generated_tables_match_def_files():
    with open(os.path.join(os.path.dirname(HERE), "ipcd", "_tables.py")) as f:
        assert f.read() == gen_tables.generate(), (
            "python/ipcd/_tables.py is out of date with proto/ops.def or proto/errors.def: "
            "run /usr/bin/python3 python/tools/gen_tables.py")


def test_tables_parse_every_op_of_ops_def():
    with open(gen_tables.def_path("ops.def")) as f:
        n = sum(1 for line in f if line.startswith("IPCD_OP("))
    assert len(_tables.OPS) == n > 40


def test_parser_reads_every_field_with_escapes():
    ping = {op.name: op for op in gen_tables.read_ops(gen_tables.def_path("ops.def"))}["ping"]
    assert (ping.ident, ping.code, ping.usage, ping.help) == ("PING", 2, "[VALUE]", 'echo VALUE, or "pong"')


@pytest.mark.parametrize("line", [
    'IPCD_OP(PING, 2, "ping", ANY, 0, "|v", "[VALUE]")\n',             # a field missing
    'IPCD_OP(PING, 2, "ping", ANY, 0, "|v", "[VALUE]", "echo"\n',      # no closing parenthesis
    'IPCD_OP(PING, 2, "ping", ANY, OPF_FAST, "|v", "[VALUE]", "echo")\n',  # unknown flag
])
def test_parser_refuses_a_malformed_line(tmp_path, line):
    path = tmp_path / "ops.def"
    path.write_text(line)
    with pytest.raises((ValueError, KeyError)):
        gen_tables.read_ops(str(path))


def test_write_flag_of_known_ops():
    W = _tables.WRITE
    assert not _tables.OPS["queue.qsize"][2] & W
    assert not _tables.OPS["dict.get"][2] & W
    assert _tables.OPS["queue.get"][2] & W
    assert _tables.OPS["dict.incr"][2] & W


def test_one_exception_class_per_wire_error():
    for code, (wire, _closes, _msg) in _tables.ERRORS.items():
        if code == 0 or code >= 100:
            continue
        e = errors.error_for(code, "m")
        assert type(e) is not ipcd.Error, wire
        assert isinstance(e, ipcd.Error) and e.code == code and e.wire_name == wire
        assert getattr(ipcd, type(e).__name__) is type(e)
        assert str(e) == "m"


def test_stdlib_bases():
    import queue
    assert issubclass(ipcd.NoKey, KeyError)
    assert issubclass(ipcd.Index, IndexError)
    assert issubclass(ipcd.NoValue, ValueError)
    assert issubclass(ipcd.Empty, queue.Empty)
    assert issubclass(ipcd.Full, queue.Full)
    assert issubclass(ipcd.ConnectionLost, ConnectionError)
    assert type(errors.error_for(60, "new")) is ipcd.Error  # a code from a newer server
