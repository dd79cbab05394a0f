"""Actors: one thread per connection, for comparing an ipcd type with its
threading counterpart over the same random sequence of ops. Each actor runs
what it is handed on its own thread, so a threading object sees the same
owner per actor as ipcd sees one connection per actor."""
import queue
import threading


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
