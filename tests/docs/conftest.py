"""Fixtures for tests/docs: a real ipcd on a fresh socket (tests/ipcd_testlib.py).

Run by hand (no bytecode or cache in the source tree):
  PYTHONDONTWRITEBYTECODE=1 IPCD_BIN=/tmp/b/daemon/ipcd IPCCTL_BIN=/tmp/b/client/ipcctl \\
  IPCD_MAN_DIR=/tmp/b/man IPCCTL_COMPLETION=completion/ipcctl.bash \\
      /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/docs
"""
import os
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

import ipcd_testlib  # noqa: E402


class Daemon(ipcd_testlib.Daemon):
    tmp_prefix = "ipcd-docs-"


@pytest.fixture
def make_daemon():
    yield from ipcd_testlib.daemon_factory(Daemon)


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()
