"""Actors: one thread per connection, for comparing an ipcd type with its
threading counterpart over the same random sequence of ops. Each actor runs
what it is handed on its own thread, so a threading object sees the same
owner per actor as ipcd sees one connection per actor. With a
ProcessClient, each actor's requests are made by a process of its own, so
the daemon sees the actors as separate processes, as a program's do."""
import multiprocessing
import queue
import threading

from ipcwire import Client, Reply


def _serve_calls(path, name, conn):
    """A ProcessClient's process: make each call it is handed on its own
    connection and send the reply back, until told to stop."""
    c = Client(path, name=name)
    while True:
        job = conn.recv()
        if job is None:
            return
        op, args = job
        r = c.call(op, *args)
        conn.send((r.raw, (r.id, r.status, r.result)))


class ProcessClient(Client):
    """A Client whose connection belongs to a forked process: call(), and
    so ok() and err(), run there; everything else of Client is not for it."""

    def __init__(self, path, name="actor"):
        self.path = path
        self.pipe, child = multiprocessing.Pipe()
        self.proc = multiprocessing.get_context("fork").Process(target=_serve_calls,
                                                                args=(path, name, child), daemon=True)
        self.proc.start()
        child.close()

    @property
    def pid(self):
        return self.proc.pid

    def call(self, op, *args):
        self.pipe.send((op, args))
        raw, decoded = self.pipe.recv()
        return Reply(raw, decoded)

    def close(self):
        if self.proc.is_alive():
            try:
                self.pipe.send(None)
            except OSError:
                pass
            self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(10)
        self.pipe.close()


class Actor:
    def __init__(self, client):
        self.client = client
        self.jobs = queue.Queue()
        self.results = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            fn = self.jobs.get()
            if fn is None:
                return
            try:
                self.results.put((True, fn(self.client)))
            except BaseException as e:  # handed back to the caller
                self.results.put((False, e))

    def run(self, fn, timeout=20):
        """fn(client) on this actor's thread; its result, or its exception raised here."""
        self.jobs.put(fn)
        ok, v = self.results.get(timeout=timeout)
        if not ok:
            raise v
        return v

    def start(self, fn):
        """fn(client) on this actor's thread, without waiting: collect with result()."""
        self.jobs.put(fn)

    def result(self, timeout=20):
        ok, v = self.results.get(timeout=timeout)
        if not ok:
            raise v
        return v

    def stop(self):
        self.jobs.put(None)
        self.thread.join(10)
        if isinstance(self.client, ProcessClient):
            self.client.close()
