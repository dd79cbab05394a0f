"""ipcd_testlib: a real ipcd on a fresh socket, for the pytest suites.

Shared by tests/integration (raw protocol) and tests/cli (ipcctl end to
end); each suite's conftest.py puts tests/ on sys.path and builds its
fixtures on Daemon and daemon_factory.

The daemon binary comes from $IPCD_BIN (meson sets it). Each daemon runs in
its own temp dir. Readiness is the daemon's sd_notify "READY=1" datagram on a
NOTIFY_SOCKET the fixture owns: no sleeping, no polling the socket file.
Every wait is bounded.

stop() SIGTERMs only the pid this module started, waits for it (SIGKILL after
a timeout), and asserts the daemon exited 0, removed its socket file and
printed no sanitizer report.
"""
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
READY_TIMEOUT = 10.0
# How late a timer or a timeout may fire before a test calls it a bug, in
# seconds: generous, so that sanitizers and a loaded machine do not make
# tests flake, while "never early" stays strict in every test. The C tests
# read the same variable with the same default (harness_not_late).
NOT_LATE = float(os.environ.get("IPCD_TEST_NOT_LATE") or "1.0")
STOP_TIMEOUT = 10.0
SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "ERROR: UndefinedBehaviorSanitizer")


def env_bin(var, what):
    """The path in environment variable var (meson sets it), or fail the test."""
    path = os.environ.get(var)
    if not path:
        pytest.fail("%s is not set: run through meson test, or set it to the %s binary" % (var, what))
    return path


def ipcd_bin():
    return env_bin("IPCD_BIN", "ipcd")


def sanitizer_env(env):
    """env with the sanitizer options the tests rely on (ignored by a build
    without sanitizers): leaks and UB end the process with an error and a
    report."""
    env["ASAN_OPTIONS"] = ":".join(filter(None, [
        env.get("ASAN_OPTIONS"), "detect_leaks=1"]))
    env["UBSAN_OPTIONS"] = ":".join(filter(None, [
        env.get("UBSAN_OPTIONS"), "print_stacktrace=1", "halt_on_error=1"]))
    return env


def sanitizer_report(text):
    """The first sanitizer mark found in text, or None."""
    for mark in SANITIZER_MARKS:
        if mark in text:
            return mark
    return None


def die_with_parent():
    # PR_SET_PDEATHSIG: if pytest dies, the daemon gets SIGKILL.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)


class Daemon:
    """One ipcd process on a socket in its own temp dir.

    clients: objects with a close() method (connections of the suite's
    own client) that stop() closes before stopping the daemon."""

    tmp_prefix = "ipcd-test-"

    def __init__(self, opts=(), workdir=None, sock_path=None, pass_socket=True):
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=self.tmp_prefix)
            workdir = self._tmp.name
        self.dir = workdir
        self.sock_path = sock_path or os.path.join(workdir, "ipcd.sock")
        self.opts = list(opts)
        # False: no --socket (the config file or the defaults decide; sock_path
        # must then name the socket they give).
        self.pass_socket = pass_socket
        self.proc = None
        self.clients = []
        self.returncode = None
        self.stderr_path = os.path.join(workdir, "ipcd.%d.stderr" % id(self))

    # -- lifecycle
    def spawn(self):
        """Start the process; returns it without waiting for readiness."""
        self.notify_path = os.path.join(self.dir, "notify.%d" % id(self))
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        env = dict(os.environ)
        env.pop("LISTEN_FDS", None)
        env.pop("LISTEN_PID", None)
        env["NOTIFY_SOCKET"] = self.notify_path
        sanitizer_env(env)
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [ipcd_bin()] + (["--socket", self.sock_path] if self.pass_socket else []) + self.opts,
            stdin=subprocess.DEVNULL, stdout=self.stderr_file, stderr=self.stderr_file,
            env=env, preexec_fn=die_with_parent, close_fds=True)
        return self.proc

    def wait_ready(self):
        """Wait for READY=1, or for the process to exit; bounded."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("ipcd sent no READY=1 within %.0f s; stderr:\n%s"
                                     % (READY_TIMEOUT, self.stderr()))
            # Short socket timeouts only so that an early exit is noticed;
            # the datagram itself ends the wait.
            self.notify.settimeout(min(left, 0.25))
            try:
                msg = self.notify.recv(4096)
            except socket.timeout:
                if self.proc.poll() is not None:
                    raise AssertionError("ipcd exited with %d before READY=1; stderr:\n%s"
                                         % (self.proc.returncode, self.stderr()))
                continue
            if b"READY=1" in msg.split(b"\n"):
                return

    def start(self):
        self.spawn()
        self.wait_ready()
        return self

    def exit_code(self, timeout=READY_TIMEOUT):
        """For a daemon expected to fail at startup: its exit code (bounded
        wait), and whether it said READY=1 before exiting."""
        try:
            self.returncode = self.proc.wait(timeout)
            self.notify.setblocking(False)
            try:
                self.said_ready = b"READY=1" in self.notify.recv(4096)
            except BlockingIOError:
                self.said_ready = False
            self.proc = None
            return self.returncode
        finally:
            self._close_files()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True):
        """SIGTERM our pid, wait (SIGKILL past STOP_TIMEOUT); check a clean exit."""
        for c in self.clients:
            c.close()
        self.clients = []
        if self.proc is None:
            return
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
                killed = True
        self.returncode = self.proc.returncode
        self._close_files()
        if check:
            err = self.stderr()
            assert not killed, "ipcd ignored SIGTERM for %.0f s; stderr:\n%s" % (STOP_TIMEOUT, err)
            assert self.returncode == 0, "ipcd exited with %r; stderr:\n%s" % (self.returncode, err)
            assert not os.path.exists(self.sock_path), "ipcd left its socket file behind"
            assert sanitizer_report(err) is None, "sanitizer report in ipcd's stderr:\n" + err
        self.proc = None

    def _close_files(self):
        if getattr(self, "notify", None) is not None:
            self.notify.close()
            self.notify = None
        if getattr(self, "stderr_file", None) is not None:
            self.stderr_file.close()
            self.stderr_file = None

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)
        self._close_files()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid


def daemon_factory(cls=Daemon):
    """Body of a make_daemon fixture: `yield from daemon_factory(MyDaemon)`.

    Yields make(*opts, start=True, **kw), which makes a cls(opts, **kw) and
    starts it (ready) unless start is false. At teardown every daemon made is
    stopped and checked, then cleaned up."""
    made = []

    def make(*opts, start=True, **kw):
        d = cls(opts, **kw)
        made.append(d)
        return d.start() if start else d

    yield make
    try:
        for d in made:
            d.stop()
    finally:
        for d in made:
            d.cleanup()


ACTIVATE = shutil.which("systemd-socket-activate")


class Activated:
    """ipcd behind systemd-socket-activate on one socket path, replaced at will."""

    def __init__(self, tmp_path, *opts):
        self.sock = str(tmp_path / "ipcd.sock")
        self.state = str(tmp_path / "state")
        self.opts = list(opts)
        self.proc = None
        self.n = 0
        self.logs = []

    def start(self):
        self.n += 1
        if os.path.exists(self.sock):   # the last one's: wait for the new one below
            os.unlink(self.sock)
        log = open(os.path.join(os.path.dirname(self.sock), "ipcd.%d.log" % self.n), "wb")
        self.logs.append(log.name)
        env = sanitizer_env(dict(os.environ))
        env.pop("NOTIFY_SOCKET", None)
        self.proc = subprocess.Popen(
            [ACTIVATE, "-l", self.sock, "--", ipcd_bin(), "-o", "state_dir=" + self.state]
            + self.opts, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            preexec_fn=die_with_parent)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._listening():   # the listening socket, made before anything runs
            assert self.proc.poll() is None and time.monotonic() < deadline, "no socket at %s" % self.sock
            time.sleep(0.01)

    def _listening(self):
        # The file exists from bind() on, but connections are refused until
        # listen(): connect once (this starts the daemon, as a client would).
        if not os.path.exists(self.sock):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(self.sock)
            except ConnectionRefusedError:
                return False
        return True

    def stop(self):
        """SIGTERM: ipcd answers what it read, tells every connection, exits."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(STOP_TIMEOUT) == 0, self.stderr()
        self.proc = None

    def stderr(self):
        out = ""
        for p in self.logs:
            with open(p, "rb") as f:
                out += f.read().decode(errors="replace")
        return out

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)


def activated_factory(tmp_path):
    """Body of an `activated` fixture: `yield from activated_factory(tmp_path)`.
    Yields make(*opts), which starts an Activated; at teardown each is killed
    if still running and its output checked for sanitizer reports."""
    made = []

    def make(*opts):
        a = Activated(tmp_path, *opts)
        made.append(a)
        a.start()
        return a
    yield make
    for a in made:
        a.cleanup()
        assert sanitizer_report(a.stderr()) is None, a.stderr()
