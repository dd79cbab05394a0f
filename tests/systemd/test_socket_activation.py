"""Socket activation. ipcd under `systemd-socket-activate -l SOCKET`: it takes
the socket from sd_listen_fds, serves, stops on SIGTERM, and a second one on
the same socket serves new connections (the first one's data is gone: no
persistence yet). And the property ipcd.socket exists for: with the
listening socket held by someone else (here the test, as systemd would), a
client that connects while no daemon runs waits in the kernel's queue and
is served once the daemon starts, instead of being refused."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import ipcd_testlib
from ipcwire import Client

ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"


def read_until(stream, marker, timeout=10.0):
    """Lines of a pipe until one contains marker (bounded by a poll)."""
    import select
    deadline = time.monotonic() + timeout
    seen = b""
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, "no %r within %.0f s; got %r" % (marker, timeout, seen)
        r, _, _ = select.select([stream], [], [], left)
        if r:
            chunk = os.read(stream.fileno(), 4096)
            assert chunk, "stream closed before %r; got %r" % (marker, seen)
            seen += chunk
    return seen


class Activated:
    """systemd-socket-activate -l sock ipcd: execs into ipcd on the first
    connection, so the pid is ipcd's from then on."""

    def __init__(self, sock, notify_path):
        if not os.path.exists(ACTIVATE):
            pytest.fail("systemd-socket-activate not found: install Debian's systemd package (setup.sh does)")
        env = ipcd_testlib.sanitizer_env(dict(os.environ))
        for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "IPCD_SOCKET"):
            env.pop(k, None)
        env["NOTIFY_SOCKET"] = notify_path
        # With no --socket: the passed socket is the only one ipcd knows.
        # systemd-socket-activate gives the program a fresh environment: pass
        # on what ipcd and the sanitizers read with -E.
        keep = [a for k in ("NOTIFY_SOCKET", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
                if k in env for a in ("-E", k)]
        self.proc = subprocess.Popen([ACTIVATE, "-l", sock] + keep + [ipcd_testlib.ipcd_bin()],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env, preexec_fn=ipcd_testlib.die_with_parent)
        self.err = read_until(self.proc.stderr, b"Listening on")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        self.err += self.proc.stderr.read()
        self.proc.stderr.close()
        text = self.err.decode(errors="replace")
        assert rc == 0, text
        assert ipcd_testlib.sanitizer_report(text) is None, text
        return text


def wait_ready(notify, proc=None):
    notify.settimeout(10)
    try:
        while b"READY=1" not in notify.recv(4096).split(b"\n"):
            pass
    except socket.timeout:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("ipcd exited with %d: %s" % (proc.returncode, proc.stderr.read()))
        raise


def test_socket_activation_start_use_stop_start_again():
    with tempfile.TemporaryDirectory(prefix="ipcd-sa-") as tmp:
        sock = os.path.join(tmp, "ipcd.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(os.path.join(tmp, "notify"))
        try:
            a = Activated(sock, os.path.join(tmp, "notify"))
            try:
                c = Client(sock)             # this connection starts ipcd
                wait_ready(notify)
                assert c.ok("queue.put", "jobs", "first") == 1
                assert Client(sock).ok("queue.qsize", "jobs") == 1
                assert c.ok("info")["socket"] == sock   # the path systemd bound, not "-"
                c.close()
            finally:
                err = a.stop()
            assert "the socket systemd passed" in err
            assert os.path.exists(sock), "the socket file is systemd's: ipcd must not remove it"
            # Again on the same socket: clients connect without error; data is gone.
            a = Activated(sock, os.path.join(tmp, "notify"))
            try:
                c = Client(sock)
                wait_ready(notify)
                assert c.ok("queue.qsize", "jobs") == 0
                assert c.ok("ping") == "pong"
                c.close()
            finally:
                a.stop()
        finally:
            notify.close()


def test_socket_held_across_restart_queues_clients():
    with tempfile.TemporaryDirectory(prefix="ipcd-sa-") as tmp:
        sock = os.path.join(tmp, "ipcd.sock")
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(sock)
        lsock.listen(16)
        notify_path = os.path.join(tmp, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        env = ipcd_testlib.sanitizer_env(dict(os.environ))
        env["NOTIFY_SOCKET"] = notify_path
        env["LISTEN_FDS"] = "1"
        env.pop("LISTEN_FDNAMES", None)
        env.pop("IPCD_SOCKET", None)

        def start():
            # The held socket becomes fd 3 (in the child, before exec);
            # LISTEN_PID must be ipcd's own pid, which the shell's exec keeps.
            def child():
                ipcd_testlib.die_with_parent()
                os.dup2(lsock.fileno(), 3)
            return subprocess.Popen(["/bin/sh", "-c", 'export LISTEN_PID=$$; exec "$0"', ipcd_testlib.ipcd_bin()],
                                    env=env, pass_fds=(3,), preexec_fn=child, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def stop(p):
            p.send_signal(signal.SIGTERM)
            assert p.wait(10) == 0
            err = p.stderr.read().decode(errors="replace")
            p.stderr.close()
            assert ipcd_testlib.sanitizer_report(err) is None, err
            assert "the socket systemd passed" in err, err

        try:
            p = start()
            wait_ready(notify, p)
            c = Client(sock)
            assert c.ok("dict.set", "d", "k", 1) is None
            c.close()
            stop(p)
            # No daemon now: a client connects (queued by the kernel, not
            # refused) and sends its requests.
            c = Client(sock, hello=False)
            c.send("hello", 1, {"name": "early"})
            c.send("ping", "anyone?")
            p = start()
            assert c.recv().status == 0
            r = c.recv()
            assert (r.status, r.result) == (0, "anyone?")
            assert c.ok("dict.len", "d") == 0        # a new daemon: the data is gone
            wait_ready(notify)
            c.close()
            stop(p)
        finally:
            lsock.close()
            notify.close()
