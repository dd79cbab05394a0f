"""Fixtures for the ipcd integration tests: a real daemon on a fresh socket.

The daemon code is tests/ipcd_testlib.py, shared with tests/cli. The daemon
binary comes from $IPCD_BIN (meson sets it). Each test gets its own daemon in
its own temp dir. Readiness is the daemon's sd_notify "READY=1" datagram on a
NOTIFY_SOCKET the fixture owns: no sleeping, no polling the socket file.
Every wait is bounded.

Teardown SIGTERMs only the pid this fixture started, waits for it (SIGKILL
after a timeout), and asserts the daemon exited 0, removed its socket file
and printed no sanitizer report.

Run by hand (no bytecode or cache in the source tree):
  PYTHONDONTWRITEBYTECODE=1 IPCD_BIN=/tmp/b/daemon/ipcd \
      /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
"""
import os
import sys

import pytest

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

import ipcd_testlib  # noqa: E402  (tests/ipcd_testlib.py: the shared daemon code)
import ipcwire  # noqa: E402
from ipcwire import Client  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "socket_only(why): the test is about what only a socket does (kernel buffers, "
        "half-closes, bytes counted on the wire): with IPCD_TEST_SHM=1 its clients keep the socket")


@pytest.fixture(autouse=True)
def _socket_only(request, monkeypatch):
    if request.node.get_closest_marker("socket_only"):
        monkeypatch.setattr(ipcwire, "SHM_FROM_ENV", False)


class Daemon(ipcd_testlib.Daemon):
    """ipcd_testlib.Daemon plus raw protocol connections (ipcwire)."""

    tmp_prefix = "ipcd-it-"

    def connect(self, hello=True, name="pytest", timeout=None, shm=None):
        kw = {} if timeout is None else {"timeout": timeout}
        c = Client(self.sock_path, hello=hello, name=name, shm=shm, **kw)
        self.clients.append(c)
        return c


@pytest.fixture
def make_daemon():
    """Factory: make_daemon("-o", "max_frame=1024") starts a ready daemon with
    those options. Every daemon made is stopped and checked at teardown."""
    yield from ipcd_testlib.daemon_factory(Daemon)


@pytest.fixture
def daemon(make_daemon):
    """A ready ipcd with default options."""
    return make_daemon()


@pytest.fixture
def client(daemon):
    """A connection to `daemon` that has said hello."""
    return daemon.connect()


@pytest.fixture
def client2(daemon):
    """A second connection to the same daemon."""
    return daemon.connect(name="second")


# Daemons with one limit lowered, for test_limits and test_bad_input.
@pytest.fixture
def small_frame_daemon(make_daemon):
    return make_daemon("-o", "max_frame=1024")


@pytest.fixture
def two_clients_daemon(make_daemon):
    return make_daemon("-o", "max_clients=2")


@pytest.fixture
def short_name_daemon(make_daemon):
    return make_daemon("-o", "max_name=8")


MAX_MEMORY = 64 * 1024


@pytest.fixture
def small_memory_daemon(make_daemon):
    return make_daemon("-o", "max_memory=%d" % MAX_MEMORY)
