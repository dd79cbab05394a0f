"""ipcctl's help says what each command does as ipcctl runs it: help of one
command, the ops that wait only with --timeout/--wait (and indeed answer at
once without), what put prints, the options each type takes at create."""
import time

from conftest import Ctl


def test_help_of_one_command(ctl):
    out = ctl.ok("help", "queue", "put", sock=False)
    assert out.count("\n") <= 2 and out.lstrip().startswith("queue put NAME VALUE"), out
    out = ctl.ok("help", "ping", sock=False)
    assert out.lstrip().startswith("ping") and "queue put" not in out, out
    out = ctl.ok("help", "queue", sock=False)
    assert "queue ops:" in out and "dict set" not in out, out
    assert "usage: ipcctl [OPTIONS] COMMAND" in ctl.ok("help", sock=False)


def test_help_of_an_unknown_command_is_a_usage_error(ctl):
    r = ctl.run("help", "foo", sock=False)
    assert r.rc == 2 and r.out == "" and "unknown command: foo" in r.err, r
    r = ctl.run("help", "queue", "nosuchop", sock=False)
    assert r.rc == 2 and r.out == "" and "unknown command: queue nosuchop" in r.err, r


def test_ops_that_wait_say_they_wait_only_when_told(ctl):
    for words in (("queue", "put"), ("queue", "get"), ("queue", "get_many"), ("list", "blpop"),
                  ("queue", "join"), ("list", "brpop")):
        out = ctl.ok(*words, "--help", sock=False)
        assert "waits only with --timeout or --wait" in out and "exit status 3 at once" in out, (words, out)
    assert "waits" not in ctl.ok("queue", "qsize", "--help", sock=False)


def test_and_they_do_not_wait_unless_told(ctl):
    t0 = time.monotonic()
    assert ctl.run("queue", "get", "empty").rc == 3
    assert ctl.run("list", "blpop", "emptyl").rc == 3
    assert ctl.run("queue", "get_many", "empty", "5").rc == 3
    ctl.ok("create", "small", "queue", '{"maxsize": 1}')
    ctl.ok("queue", "put", "small", "a")
    assert ctl.run("queue", "put", "small", "b").rc == 3
    assert time.monotonic() - t0 < 20  # at once, not after some wait


def test_put_help_says_what_it_prints_and_which_priority_first(ctl):
    out = ctl.ok("queue", "put", "--help", sock=False)
    assert "prints the queue's size" in out and "lowest priority is served first" in out, out
    assert "--priority N" in out and "--delay SEC" in out, out
    assert ctl.ok("queue", "put", "q", "x") == "1\n"


def test_create_help_lists_each_types_options(ctl):
    out = ctl.ok("create", "--help", sock=False)
    for key in ("maxsize", "lease", "max_deliveries", "dead_letter"):
        assert key in out, out
    assert "list, dict and ns take none" in out, out


def test_dict_nokey_names_the_key(ctl):
    ctl.ok("dict", "set", "d", "present", "1")
    err = ctl.fail(4, "dict", "get", "d", "nosuchkey", code="NOKEY")
    assert "'nosuchkey'" in err, err
    err = ctl.fail(4, "dict", "del", "d", "42", code="NOKEY")
    assert "no key 42" in err, err
    err = ctl.fail(4, "dict", "pop", "d", "[1]", code="NOKEY")
    assert "array key" in err, err
