"""README's tour runs top to bottom as written: its first shell block starts
the daemon, every later block of the tour (up to "From Python") runs in one
bash -e, in a fresh directory where build/ is this build, with the socket in
a fresh temp dir through IPCD_SOCKET."""
import os
import re
import shlex
import signal
import subprocess
import time

from conftest import CALL_TIMEOUT, SRC_DIR, ipcctl_bin, ipcctl_env

READY_TIMEOUT = 30.0


def tour_blocks():
    with open(os.path.join(SRC_DIR, "README.md")) as f:
        text = f.read()
    start = text.index("\n## A short tour")
    end = text.index("\n## From Python", start)
    return re.findall(r"^```sh\n(.*?)^```", text[start:end], re.S | re.M)


def test_the_tour_runs_top_to_bottom(tmp_path):
    blocks = tour_blocks()
    assert len(blocks) >= 3, blocks
    build = os.path.dirname(os.path.dirname(os.path.abspath(ipcctl_bin())))
    os.symlink(build, str(tmp_path / "build"))
    env = ipcctl_env({"IPCD_SOCKET": str(tmp_path / "ipcd.sock")}, drop=("XDG_RUNTIME_DIR",))
    start = shlex.split(blocks[0].split("#")[0])
    assert start == ["build/daemon/ipcd"], blocks[0]
    daemon = subprocess.Popen(start, cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while subprocess.run([ipcctl_bin(), "ping"], env=env, capture_output=True,
                             timeout=CALL_TIMEOUT).returncode != 0:
            assert daemon.poll() is None, daemon.communicate()
            assert time.monotonic() < deadline, "the tour's daemon is not ready"
            time.sleep(0.05)  # polling a readiness check, bounded by the deadline
        script = "\n".join(blocks[1:])   # one shell, as a reader types them
        p = subprocess.run(["bash", "-e", "-o", "pipefail", "-x", "-c", script], cwd=str(tmp_path), env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        assert p.returncode == 0, (p.returncode, p.stdout.decode(), p.stderr.decode())
        assert (tmp_path / "stats.json").exists()
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=CALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    assert daemon.returncode == 0, daemon.communicate()
