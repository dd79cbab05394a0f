"""Finding the daemon without -s: $IPCD_SOCKET alone, else the user's
$XDG_RUNTIME_DIR/ipcd.sock and then the system /run/ipcd/ipcd.sock; a
failure names every path tried, and a refused one points at group ipcd."""
import os
import shutil
import socket
import subprocess

import pytest

from conftest import Ctl, ipcctl_bin

SYSTEM_SOCKET = "/run/ipcd/ipcd.sock"


def test_the_user_daemon_is_found_through_xdg_runtime_dir(daemon):
    ctl = Ctl(daemon.sock_path)
    xdg = os.path.dirname(daemon.sock_path)
    r = ctl.run("--json", "info", sock=False, env={"XDG_RUNTIME_DIR": xdg})
    assert r.rc == 0, r
    assert '"%s"' % daemon.sock_path in r.out, r


def test_cannot_connect_names_the_user_and_the_system_socket(tmp_path):
    if os.path.exists(SYSTEM_SOCKET):
        pytest.skip("a system daemon listens on %s: the fallback would reach it" % SYSTEM_SOCKET)
    ctl = Ctl(None)
    r = ctl.run("ping", sock=False, env={"XDG_RUNTIME_DIR": str(tmp_path)})
    assert r.rc == 5 and r.out == "", r
    user = os.path.join(str(tmp_path), "ipcd.sock")
    assert ("tried %s (No such file or directory), %s (No such file or directory)"
            % (user, SYSTEM_SOCKET)) in r.err, r
    assert "group ipcd" not in r.err, r


def test_ipcd_socket_is_tried_alone(tmp_path):
    ctl = Ctl(None)
    path = os.path.join(str(tmp_path), "given.sock")
    r = ctl.run("ping", sock=False, drop_env=(),
                env={"IPCD_SOCKET": path, "XDG_RUNTIME_DIR": str(tmp_path)})
    assert r.rc == 5 and path in r.err and SYSTEM_SOCKET not in r.err, r


def test_a_refused_socket_hints_at_the_ipcd_group(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    path = os.path.join(str(tmp_path), "ipcd.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    os.chmod(path, 0o600)
    argv = [ipcctl_bin(), "-s", path, "ping"]
    if os.geteuid() == 0:
        # Root passes any permission: ask as nobody.
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root for this test"
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    finally:
        srv.close()
    err = p.stderr.decode()
    assert p.returncode == 5, (p.returncode, err)
    assert "Permission denied" in err and "group ipcd" in err and "usermod -aG ipcd" in err, err
