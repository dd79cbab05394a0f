"""Fixtures for the systemd suite: ipcd under systemd-socket-activate, on a
NOTIFY_SOCKET the test binds, its units checked with systemd-analyze, its
install tree checked. No systemd PID 1 is needed.

$IPCD_BIN is the daemon, $IPCD_BUILD_ROOT the meson build dir (for
`meson install --destdir`), both set by meson. Every wait is bounded; only
the pids these tests start are signalled.
"""
import os
import sys

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (_TESTS_DIR, os.path.join(_TESTS_DIR, "integration")):
    if p not in sys.path:
        sys.path.insert(0, p)
