"""Building the Debian packages for the packaging tests.

dpkg-buildpackage runs in a copy of the source tree, so the tree and its
build dirs stay as they are; the .deb files land in the work dir.
"""
import os
import socket
import time
import shutil
import subprocess

PACKAGES = ["ipcd", "libipcd0", "libipcd-dev", "python3-ipcd"]
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}


def copy_tree(src, dst):
    """The tracked and untracked-but-not-ignored files (no build dirs), else
    everything but build*/ and .git."""
    if os.path.isdir(os.path.join(src, ".git")) or os.path.isfile(os.path.join(src, ".git")):
        files = subprocess.run(["git", "-C", src, "ls-files", "-z", "-co", "--exclude-standard"],
                               capture_output=True, timeout=60)
        if files.returncode == 0:
            for f in files.stdout.decode().split("\0"):
                if f and os.path.isfile(os.path.join(src, f)):
                    os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
                    shutil.copy2(os.path.join(src, f), os.path.join(dst, f))
            return
    shutil.copytree(src, dst, dirs_exist_ok=True,
                    ignore=lambda d, names: [n for n in names if n.startswith("build") or n == ".git"])


def build_debs(source, work):
    """Build the packages from source into work; their paths (no dbgsym)."""
    src = os.path.join(work, "ipcd")
    copy_tree(source, src)
    p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b", "-j2"], capture_output=True, text=True,
                       timeout=600, cwd=src, env=ENV)
    if p.returncode != 0:
        raise AssertionError("dpkg-buildpackage: exit %d\n%s%s" % (p.returncode, p.stdout[-4000:], p.stderr))
    debs = sorted(os.path.join(work, f) for f in os.listdir(work)
                  if f.endswith(".deb") and "-dbgsym_" not in f)
    names = sorted(os.path.basename(d).split("_")[0] for d in debs)
    assert names == sorted(PACKAGES), names
    return debs


def runtime_dependencies(debs):
    """The packages the debs depend on, outside themselves: the first of each
    set of alternatives, without versions or architecture qualifiers."""
    ours = {os.path.basename(d).split("_")[0] for d in debs}
    deps = set()
    for deb in debs:
        field = subprocess.run(["dpkg-deb", "-f", deb, "Pre-Depends", "Depends"], capture_output=True,
                               text=True, timeout=60, check=True).stdout
        for line in field.splitlines():
            line = line.split(":", 1)[1] if line.startswith(("Depends:", "Pre-Depends:")) else line
            for clause in line.split(","):
                name = clause.split("|")[0].split("(")[0].strip().split(":")[0]
                if name and name not in ours:
                    deps.add(name)
    return sorted(deps)


def wait_for_socket(path, proc, timeout=20):
    """Until something accepts on path (each try a connect; bounded), or
    fail if proc, the daemon, exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError("ipcd exited with %d: %s" % (proc.returncode, err))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise AssertionError("ipcd did not listen on %s within %d s" % (path, timeout))
