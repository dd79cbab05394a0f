"""A daemon that cannot tell whether the socket it would take is live
(connect() fails with anything but ECONNREFUSED) refuses to start and
leaves the socket alone. Needs root, to run the second daemon as another
uid with setpriv."""
import os
import shutil
import subprocess
import tempfile

import pytest

from ipcd_testlib import READY_TIMEOUT, ipcd_bin, sanitizer_env

NOBODY = 65534


@pytest.fixture
def shared_dir():
    """A directory anyone may write to (no sticky bit), as a careless
    setup would give a system-wide socket."""
    d = tempfile.mkdtemp(prefix="ipcd-shared-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_permission_denied_is_not_a_stale_socket(make_daemon, shared_dir):
    if os.geteuid() != 0:
        pytest.skip("needs root to run a second daemon as uid %d with setpriv" % NOBODY)
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed")
    path = os.path.join(shared_dir, "ipcd.sock")
    d = make_daemon("-o", "socket_mode=0600", workdir=shared_dir, sock_path=path)
    c = d.connect()
    env = sanitizer_env(dict(os.environ))
    env.pop("NOTIFY_SOCKET", None)
    intruder = subprocess.Popen(
        ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
         ipcd_bin(), "--socket", path],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        out, _ = intruder.communicate(timeout=READY_TIMEOUT)
    except subprocess.TimeoutExpired:
        intruder.kill()
        out, _ = intruder.communicate()
        pytest.fail("the second daemon took over the live socket; it said:\n" + out.decode(errors="replace"))
    text = out.decode(errors="replace")
    assert intruder.returncode == 1, text
    assert "Permission denied" in text and "not touching it" in text, text
    assert "stale" not in text, text
    # The first daemon still owns the path and answers.
    assert os.path.exists(path)
    assert c.ok("ping") == "pong"
    assert d.connect().ok("ping") == "pong"
