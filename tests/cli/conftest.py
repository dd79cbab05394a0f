"""Fixtures for the ipcctl end-to-end tests: a real ipcd on a fresh socket
(tests/ipcd_testlib.py, shared with tests/integration) and a runner for
$IPCCTL_BIN against it.

Every ipcctl run has a timeout, runs with the sanitizer options of the
daemon (so a leak or UB in an instrumented ipcctl fails its exit status) and
must print no sanitizer report. The daemon is stopped at teardown and must
exit 0.

Run by hand (no bytecode or cache in the source tree):
  PYTHONDONTWRITEBYTECODE=1 IPCD_BIN=/tmp/b/daemon/ipcd IPCCTL_BIN=/tmp/b/client/ipcctl \
      /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/cli
"""
import json
import os
import re
import subprocess
import sys
import time

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(_HERE)
SRC_DIR = os.path.dirname(TESTS_DIR)
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

import ipcd_testlib  # noqa: E402
from ipcd_testlib import die_with_parent, env_bin, sanitizer_env, sanitizer_report  # noqa: E402

CALL_TIMEOUT = 30.0      # one ipcctl run, generous for sanitizer builds

def ipcctl_bin():
    return env_bin("IPCCTL_BIN", "ipcctl")


def _read_options():
    """ipcctl's options from its own table (`ipcctl --describe`): the set
    that takes a value and the set of flags, each with short and long names."""
    out = subprocess.run([ipcctl_bin(), "--describe"], capture_output=True, text=True, timeout=CALL_TIMEOUT,
                         check=True).stdout
    with_value, flags = set(), set()
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] != "option":
            continue
        names = {n for n in f[1:3] if n != "-"}
        (flags if f[3] == "-" else with_value).update(names)
    assert "--socket" in with_value and "--json" in flags, out
    return with_value, flags


# Options of ipcctl, to find the command words in an argument list.
_OPT_WITH_VALUE, _OPT_FLAGS = _read_options()


def read_ops():
    """Every op of proto/ops.def as {wire name: (type, signature)}."""
    pat = re.compile(r'^IPCD_OP\(\s*\w+\s*,\s*\d+\s*,\s*"([\w.]+)"\s*,\s*(\w+)\s*,\s*[\w|]+\s*,\s*"([^"]*)"')
    ops = {}
    with open(os.path.join(SRC_DIR, "proto", "ops.def")) as f:
        for line in f:
            m = pat.match(line)
            if m:
                ops[m.group(1)] = (m.group(2), m.group(3))
    return ops


# The object types, in ops.def order: every type some op works on.
TYPES = tuple(dict.fromkeys(t.lower() for t, _ in read_ops().values() if t != "ANY"))


def proto_define(name):
    """An integer #define of proto/proto.h (PROTO_LS_MAX_COUNT)."""
    with open(os.path.join(SRC_DIR, "proto", "proto.h")) as f:
        m = re.search(r"^#define\s+%s\s+(\d+)u?\b" % re.escape(name), f.read(), re.M)
    assert m, name + " not found in proto/proto.h"
    return int(m.group(1))


# Wire names of the ops that some ipcctl run completed with status 0, for the
# test that every op of ops.def was exercised.
COVERED = set()


def op_of_args(args):
    """The wire name of the op an ipcctl argument list runs (exact words
    only), or None."""
    words, i, only_pos = [], 0, False
    while i < len(args) and len(words) < 2:
        a = args[i]
        if not only_pos and a == "--":
            only_pos = True
        elif not only_pos and a in _OPT_WITH_VALUE:
            i += 1
        elif not only_pos and (a in _OPT_FLAGS or a.startswith("--") and "=" in a):
            pass
        else:
            words.append(a)
        i += 1
    if not words:
        return None
    if words[0] in TYPES:
        return "%s.%s" % (words[0], words[1]) if len(words) > 1 else None
    return {"rm": "delete", "kill-client": "kill_client"}.get(words[0], words[0])


class Result:
    """One finished ipcctl run."""

    def __init__(self, args, rc, out, err, elapsed):
        self.args, self.rc, self.out, self.err, self.elapsed = args, rc, out, err, elapsed

    def __repr__(self):
        return "ipcctl %r -> rc %r, stdout %r, stderr %r" % (self.args, self.rc, self.out, self.err)


def ipcctl_env(extra=None, drop=("IPCD_SOCKET",)):
    env = dict(os.environ)
    for k in drop:
        env.pop(k, None)
    env.update(extra or {})
    return sanitizer_env(env)


def check_no_sanitizer(text, what="ipcctl"):
    assert sanitizer_report(text) is None, "sanitizer report in %s's stderr:\n%s" % (what, text)


class Ctl:
    """Runs ipcctl against one socket: run() for anything, ok()/json()/fail()
    for the common checks."""

    def __init__(self, sock_path):
        self.sock = sock_path

    def argv(self, args, sock=True):
        return [ipcctl_bin()] + (["-s", self.sock] if sock else []) + [str(a) for a in args]

    def run(self, *args, sock=True, env=None, timeout=CALL_TIMEOUT, drop_env=("IPCD_SOCKET",)):
        """Run ipcctl [-s SOCK] ARGS; returns a Result (stdout/stderr decoded)."""
        argv = self.argv(args, sock)
        t0 = time.monotonic()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                           env=ipcctl_env(env, drop_env), preexec_fn=die_with_parent)
        return self._checked(Result(argv[1:], p.returncode, p.stdout.decode(), p.stderr.decode(),
                                    time.monotonic() - t0), args)

    def spawn(self, *args, env=None):
        """Start ipcctl [-s SOCK] ARGS without waiting; finish() it."""
        return subprocess.Popen(self.argv(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=ipcctl_env(env), preexec_fn=die_with_parent)

    def finish(self, proc, args=(), timeout=CALL_TIMEOUT):
        """Wait (bounded) for a spawn()ed ipcctl; returns its Result."""
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise AssertionError("ipcctl %r did not finish within %.0f s" % (args, timeout))
        return self._checked(Result(list(args), proc.returncode, out.decode(), err.decode(), None), args)

    @staticmethod
    def _checked(r, args):
        """r after the checks every run gets: no sanitizer report, and a
        successful op counts as covered."""
        check_no_sanitizer(r.err)
        if r.rc == 0:
            op = op_of_args([str(a) for a in args])
            if op:
                COVERED.add(op)
        return r

    def ok(self, *args, **kw):
        """Human output of a run that must succeed silently on stderr."""
        r = self.run(*args, **kw)
        assert r.rc == 0 and r.err == "", r
        return r.out

    def json(self, *args, **kw):
        """The result of `ipcctl --json ARGS`, parsed: one line of JSON."""
        r = self.run("--json", *args, **kw)
        assert r.rc == 0 and r.err == "", r
        assert r.out.endswith("\n") and r.out.count("\n") == 1, r
        return json.loads(r.out)

    def fail(self, rc, *args, code=None, **kw):
        """A run that must exit rc with nothing on stdout and one message on
        stderr, "ipcctl: CODE: message" when code is given. Returns stderr."""
        r = self.run(*args, **kw)
        assert r.rc == rc, r
        assert r.out == "", r
        assert r.err.startswith("ipcctl: ") and r.err.endswith("\n"), r
        if code is not None:
            assert r.err.startswith("ipcctl: %s: " % code) and r.err.count("\n") == 1, r
        return r.err

    def wait_parked(self, name, n=1, timeout=10.0):
        """Until `stat NAME` shows n requests waiting on the object: each
        check is an ipcctl round trip, never a sleep; bounded."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.run("--json", "stat", name)
            if r.rc == 0 and json.loads(r.out)["waiting"] == n:
                return
            if time.monotonic() > deadline:
                raise AssertionError("no %d request(s) waiting on %r after %.0f s: %r" % (n, name, timeout, r))


class Daemon(ipcd_testlib.Daemon):
    tmp_prefix = "ipcd-cli-"


@pytest.fixture
def make_daemon():
    """Factory: make_daemon("-o", "max_name=8") starts a ready daemon; every
    daemon made is stopped and checked at teardown."""
    yield from ipcd_testlib.daemon_factory(Daemon)


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()


@pytest.fixture
def ctl(daemon):
    """An ipcctl runner for `daemon`."""
    return Ctl(daemon.sock_path)


def wire_client(daemon):
    """A raw protocol connection (tests/integration/ipcwire.py) to daemon,
    for seeding more objects than one ipcctl run per object would allow."""
    integ = os.path.join(TESTS_DIR, "integration")
    if integ not in sys.path:
        sys.path.insert(0, integ)
    from ipcwire import Client
    c = Client(daemon.sock_path, name="cli-seed")
    daemon.clients.append(c)
    return c
