"""Fixtures for the ipcd Python package's tests: a real daemon on a fresh
socket (tests/ipcd_testlib.py: readiness by sd_notify, bounded waits, only
our own pid is signalled), the package imported from the source tree.

Run by hand (no bytecode or cache in the source tree):
  PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=python IPCD_BIN=/tmp/b/daemon/ipcd \\
      /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests
"""
import itertools
import os
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.dirname(HERE)
ROOT = os.path.dirname(PYDIR)
for p in (PYDIR, os.path.join(ROOT, "tests")):
    if p not in sys.path:
        sys.path.insert(0, p)

import ipcd  # noqa: E402
import ipcd_testlib  # noqa: E402


class Daemon(ipcd_testlib.Daemon):
    tmp_prefix = "ipcd-py-"


@pytest.fixture(scope="session")
def daemon():
    """One ready ipcd for the session (tests use distinct object names);
    stopped and checked (exit 0, socket removed, no sanitizer report) at the end."""
    gen = ipcd_testlib.daemon_factory(Daemon)
    make = next(gen)
    yield make()
    next(gen, None)


@pytest.fixture
def make_daemon():
    """Factory for a test's own daemons (restart tests)."""
    yield from ipcd_testlib.daemon_factory(Daemon)


@pytest.fixture
def client(daemon):
    """The process's client for the session daemon, also the default one."""
    c = ipcd.connect(daemon.sock_path)
    yield c


_counter = itertools.count()


@pytest.fixture
def name(request):
    """An object name no other test uses."""
    return "%s.%d" % (request.node.name[:80], next(_counter))


@pytest.fixture
def current_thread_calls(monkeypatch):
    """The idents of threads other than the test's that call
    threading.current_thread() while the test runs (it still answers):
    code run in a _thread thread must leave this empty, since there it
    would make a dummy Thread that is never cleaned up."""
    calls = []
    real = threading.current_thread
    main = threading.get_ident()

    def spy():
        if threading.get_ident() != main:
            calls.append(threading.get_ident())
        return real()
    monkeypatch.setattr(threading, "current_thread", spy)
    return calls
