"""`pip install --no-build-isolation ./python` works offline with Debian's
packages (python3-pip, python3-venv, python3-setuptools, python3-wheel), into
a venv made with --system-site-packages (for Debian's python3-msgpack). The
source is copied first so that the build writes nothing into the tree."""
import os
import shutil
import subprocess
import sys

import pytest

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYS_PYTHON = "/usr/bin/python3"


def _have(module):
    return subprocess.run([SYS_PYTHON, "-c", "import " + module],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not all(map(_have, ("venv", "pip", "setuptools", "wheel"))),
                    reason="Debian's python3-venv, python3-pip, python3-setuptools or "
                           "python3-wheel is not installed (setup.sh installs them)")
def test_pip_install_into_venv(tmp_path, daemon):
    src = tmp_path / "src"
    shutil.copytree(PYDIR, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([SYS_PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, timeout=60)
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PIP_NO_INDEX"] = "1"  # offline: never reach a registry
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # Debian's pip, run by the venv's interpreter (it sees the system site-packages).
    r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        str(src)], env=env, capture_output=True, text=True,
                       timeout=120, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    code = ("import ipcd, sys; assert ipcd.__file__.startswith(sys.prefix), ipcd.__file__; "
            "c = ipcd.connect(); print(c.ping('installed'))")
    r = subprocess.run([py, "-c", code], env=dict(env, IPCD_SOCKET=daemon.sock_path),
                       capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "installed"
