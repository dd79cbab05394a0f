"""README's "Install" section, run as written.

The shell blocks of its subsections are taken from README.md itself:
- "From source": the meson lines run in a copy of the source tree with
  DESTDIR set (which `meson install` honours), so the install goes into a
  temp dir instead of /usr; the tree must hold what a system install needs.
  The lines that change the machine (systemd-sysusers, systemctl, usermod)
  are not run here: tests/packaging/test_container.py does the same on a
  booted system.
- "Building against libipcd": the uninstalled-tree lines, in the build dir's
  source tree, against a daemon on a temp socket; the program must print
  its result.
- "The Python package": the venv lines with HOME in a temp dir, offline.
"From Debian packages" is what test_packages.py and test_container.py do.

`sudo` is a shim that runs its arguments (the test runs as root, or the
install blocks are skipped).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from debs import copy_tree, wait_for_socket

SKIP = 77


def install_blocks(readme):
    """{subsection title: [shell lines]} of the "## Install" section."""
    text = open(readme).read()
    section = re.search(r"^## Install\n(.*?)(?=^## )", text, re.S | re.M).group(1)
    blocks = {}
    for part in re.split(r"^### ", section, flags=re.M)[1:]:
        title = part.splitlines()[0].strip()
        lines = []
        for block in re.findall(r"^```sh\n(.*?)^```", part, re.S | re.M):
            lines += [ln for ln in block.splitlines() if ln.strip()]
        blocks[title] = lines
    return blocks


def sh(line, cwd, env, timeout=600):
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("README line failed (exit %d): %s\n%s%s" % (p.returncode, line, p.stdout, p.stderr))
    return p.stdout


def main():
    source, build_root, ipcd_bin = sys.argv[1:4]
    blocks = install_blocks(os.path.join(source, "README.md"))
    assert set(blocks) >= {"From Debian packages", "From source", "Building against libipcd",
                           "The Python package"}, list(blocks)
    work = tempfile.mkdtemp(prefix="ipcd-install-docs-")
    daemon = None
    try:
        shim = os.path.join(work, "bin")
        os.makedirs(shim)
        with open(os.path.join(shim, "sudo"), "w") as f:
            f.write('#!/bin/sh\nexec "$@"\n')
        os.chmod(os.path.join(shim, "sudo"), 0o755)
        home = os.path.join(work, "home")
        os.makedirs(home)
        env = {"PATH": shim + ":/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": home,
               "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "IPCD_SOCKET": os.path.join(work, "ipcd.sock")}

        daemon = subprocess.Popen([ipcd_bin, "--socket", env["IPCD_SOCKET"]], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wait_for_socket(env["IPCD_SOCKET"], daemon)

        # The uninstalled tree: the lines name build/, the meson build dir.
        tree = os.path.join(work, "tree")
        copy_tree(source, tree)
        os.symlink(build_root, os.path.join(tree, "build"))
        against = [ln for ln in blocks["Building against libipcd"] if "uninstalled" in ln or "./example" in ln]
        assert len(against) == 2, against
        sh(against[0], tree, env)
        assert re.fullmatch(r"hits = \d+\n", sh(against[1], tree, env)), "example printed no result"

        # Python: venv, pip offline, import and ping.
        out = ""
        for line in blocks["The Python package"]:
            out = sh(line, tree, env, timeout=300)
        assert out == "pong\n", out

        # From source, into DESTDIR.
        if os.geteuid() != 0:
            print("from source: not run (the README runs meson install with sudo; run as root)")
        else:
            lines = [ln for ln in blocks["From source"] if ln.startswith(("meson ", "sudo meson "))]
            assert len(lines) == 3, lines
            dest = os.path.join(work, "dest")
            src = os.path.join(work, "src")
            copy_tree(source, src)
            for line in lines:
                sh(line, src, dict(env, DESTDIR=dest), timeout=900)
            for path in ("usr/sbin/ipcd", "usr/bin/ipcctl", "etc/ipcd/ipcd.conf", "usr/include/ipcd/ipcd.h",
                         "usr/lib/systemd/system/ipcd.socket", "usr/lib/systemd/system/ipcd.service",
                         "usr/lib/sysusers.d/ipcd.conf", "usr/lib/tmpfiles.d/ipcd.conf"):
                assert os.path.exists(os.path.join(dest, path)), path + " not installed"
            unit = open(os.path.join(dest, "usr/lib/systemd/system/ipcd.service")).read()
            assert "ExecStart=/usr/sbin/ipcd\n" in unit, "the unit does not run the installed /usr/sbin/ipcd"
    finally:
        if daemon is not None:
            daemon.terminate()
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        shutil.rmtree(work, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
