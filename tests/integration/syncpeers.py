"""Peer processes for the tests of the synchronisation types (sync_peer.py):
start one with a list of requests, read its replies as they come (each read
bounded), kill it. Only the pids started here are ever signalled."""
import json
import os
import select
import signal
import subprocess
import sys
import time

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sync_peer.py")


class Peer:
    def __init__(self, sock, ops, hold=False):
        args = [sys.executable, PEER, sock, json.dumps(ops)] + (["hold"] if hold else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.buf = ""

    def reply(self, timeout=20.0):
        """The next reply: (status, result, monotonic time it came)."""
        deadline = time.monotonic() + timeout
        while "\n" not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "peer %d sent no reply in %.0f s" % (self.proc.pid, timeout)
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536).decode()
                assert chunk, "peer %d exited (status %r)" % (self.proc.pid, self.proc.poll())
                self.buf += chunk
        line, self.buf = self.buf.split("\n", 1)
        return tuple(json.loads(line))

    def ready(self, timeout=0.0):
        """True if a reply is waiting to be read."""
        if "\n" in self.buf:
            return True
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return bool(r)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def finish(self):
        """Close its stdin (a holding peer ends) and wait for it."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return self.proc.returncode


def cleanup(peers):
    for p in peers:
        if p.proc.poll() is None:
            p.kill()
        p.proc.stdout.close()
