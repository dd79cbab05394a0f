"""journal_probe: ipcd logging to a journal socket this script owns.

Run by tests/systemd/test_journal.py as

    unshare -m --propagation private /usr/bin/python3 journal_probe.py MODE

with $IPCD_BIN set, as root. In the private mount namespace it mounts a
tmpfs on /run (seen by this process and its children only, gone when they
are), so that /run/systemd/journal/socket, the path libsystemd's
sd_journal_send writes to, is a socket of ours and not the machine's
journald. Nothing outside the namespace changes.

MODE:
  journal   bind /run/systemd/journal/socket (AF_UNIX, SOCK_DGRAM) and read it
  nosocket  no /run/systemd/journal at all (no journald)
  stale     the socket file exists but nobody reads it (journald gone)

In every mode ipcd runs with stderr to a file and JOURNAL_STREAM set to that
file's "dev:ino", log_level=debug and a small max_memory. This script is its
client: it connects (debug), gets WRONGTYPE on an object whose name holds a
newline (debug, OBJECT=the name), gets NOMEM (warning), and closes; then it
SIGTERMs ipcd (the only pid it started), waits for it and prints one JSON
object on stdout: the datagrams read from the journal socket (base64), ipcd's
stderr, its exit code, the client's pid and the names used.

Readiness is READY=1 on a NOTIFY_SOCKET of ours; every wait is bounded.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))                        # ipcd_testlib
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))  # ipcwire

import ipcd_testlib  # noqa: E402
from ipcwire import E, Client  # noqa: E402

TIMEOUT = 10.0
JOURNAL_DIR = "/run/systemd/journal"
WORK = "/run/ipcd-journal-probe"
MAX_MEMORY = 4096
OBJECT = "jobs\nlist"         # a newline: the journal's binary-safe field form
NOMEM_OBJECT = "big"


def fail(msg):
    sys.stderr.write("journal_probe: %s\n" % msg)
    sys.exit(2)


def wait_ready(proc, notify, err_path):
    deadline = time.monotonic() + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("no READY=1 within %.0f s; stderr:\n%s" % (TIMEOUT, read(err_path)))
        notify.settimeout(min(left, 0.25))
        try:
            msg = notify.recv(4096)
        except socket.timeout:
            if proc.poll() is not None:
                fail("ipcd exited with %d before READY=1; stderr:\n%s" % (proc.returncode, read(err_path)))
            continue
        if b"READY=1" in msg.split(b"\n"):
            return


def read(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def main():
    mode = sys.argv[1]
    if mode not in ("journal", "nosocket", "stale"):
        fail("unknown mode %r" % mode)
    ipcd = ipcd_testlib.ipcd_bin()
    if os.path.realpath(ipcd).startswith("/run/"):
        fail("IPCD_BIN is under /run, which this probe hides: %s" % ipcd)
    # The tmpfs hides the machine's /run from this namespace only.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=4m", "ipcd-journal-probe", "/run"],
                   check=True, timeout=TIMEOUT)
    os.makedirs(WORK)
    journal = None
    if mode != "nosocket":
        os.makedirs(JOURNAL_DIR)
        journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        journal.bind(os.path.join(JOURNAL_DIR, "socket"))
        if mode == "stale":
            journal.close()         # the file stays; sending to it is refused
            journal = None

    notify_path = os.path.join(WORK, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    err_path = os.path.join(WORK, "stderr")
    sock_path = os.path.join(WORK, "ipcd.sock")
    env = ipcd_testlib.sanitizer_env(dict(os.environ))
    for k in ("LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC", "WATCHDOG_PID"):
        env.pop(k, None)
    env["NOTIFY_SOCKET"] = notify_path
    with open(err_path, "wb") as err:
        st = os.fstat(err.fileno())
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        proc = subprocess.Popen([ipcd, "--socket", sock_path, "-o", "log_level=debug",
                                 "-o", "max_memory=%d" % MAX_MEMORY],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
                                preexec_fn=ipcd_testlib.die_with_parent, close_fds=True)
    try:
        wait_ready(proc, notify, err_path)
        c = Client(sock_path, name="journal-probe", timeout=TIMEOUT)
        c.ok("list.append", OBJECT, 1)
        assert c.err("queue.put", OBJECT, 2) == E.WRONGTYPE
        assert c.err("list.append", NOMEM_OBJECT, "x" * (2 * MAX_MEMORY)) == E.NOMEM
        assert c.ok("ping") == "pong"
        c.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(TIMEOUT)
            fail("ipcd ignored SIGTERM for %.0f s" % TIMEOUT)

    # ipcd has exited: every datagram it sent is queued on our socket.
    datagrams = []
    if journal is not None:
        journal.setblocking(False)
        while True:
            try:
                datagrams.append(journal.recv(1 << 20))
            except BlockingIOError:
                break
    json.dump({
        "mode": mode,
        "returncode": proc.returncode,
        "client_pid": os.getpid(),
        "ipcd_pid": proc.pid,
        "object": OBJECT,
        "nomem_object": NOMEM_OBJECT,
        "journal_stream": env["JOURNAL_STREAM"],
        "stderr": read(err_path),
        "datagrams": [base64.b64encode(d).decode() for d in datagrams],
    }, sys.stdout)


if __name__ == "__main__":
    main()
