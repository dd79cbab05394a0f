"""The Debian packages from build to purge, on this machine.

Builds them out of a copy of the source tree (the tree and its build dirs
stay as they are), installs them with dpkg -i, runs the installed ipcd as
the ipcd user on /run/ipcd/ipcd.sock (what ipcd.service runs, without
systemd as PID 1), and uses it through a C program built with
`pkg-config --cflags --libs libipcd`, through ipcctl and through the ipcd
Python module. lintian must find no error in them. Whatever happens, the daemon is stopped, the packages are
purged and what the install added (the ipcd user and group, /run/ipcd) is
removed if it was not there before.

Exit 77 (skipped) when not root or when ipcd packages are already installed:
the test does not touch a machine's own ipcd.
"""
import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

from debs import PACKAGES, build_debs, wait_for_socket

SOCKET = "/run/ipcd/ipcd.sock"
SKIP = 77
# Every command gets a clean environment: the installed clients must find
# the system socket by the default rule.
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}

C_PROGRAM = r"""
#include <ipcd.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	ipcd *c;
	int64_t n = 0;
	if (ipcd_connect(&c, NULL) != IPCD_OK) {
		fprintf(stderr, "connect: %s\n", ipcd_errmsg(NULL));
		return 1;
	}
	if (ipcd_ping(c) != IPCD_OK || ipcd_queue_put_str(c, "pkgtest", "from C", 5) != IPCD_OK ||
	    ipcd_dict_incr(c, "pkgstats", "runs", 2, &n) != IPCD_OK || n != 2) {
		fprintf(stderr, "call: %s\n", ipcd_errmsg(c));
		return 1;
	}
	ipcd_close(c);
	puts("c ok");
	return 0;
}
"""

PYTHON_PROGRAM = r"""
import ipcd, sys
assert ipcd.__file__.startswith("/usr/lib/python3/dist-packages/"), ipcd.__file__
q = ipcd.Queue("pkgtest")
assert q.get(timeout=5) == "from C"
q.put({"from": "python"})
assert q.get(timeout=5) == {"from": "python"}
assert ipcd.Dict("pkgstats")["runs"] == 2
print("python ok")
"""


def run(cmd, timeout=120, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=kw.pop("env", ENV), **kw)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return p.returncode == 0 and "installed" in p.stdout and "not-installed" not in p.stdout


def exists(getter, name):
    try:
        getter(name)
        return True
    except KeyError:
        return False


def build(source, work):
    debs = build_debs(source, work)
    changes = [os.path.join(work, f) for f in os.listdir(work) if f.endswith(".changes")]
    run(["lintian", "--fail-on", "error"] + changes, timeout=300)
    return debs


def exercise(work):
    ipcd_user = pwd.getpwnam("ipcd")
    assert grp.getgrnam("ipcd").gr_gid == ipcd_user.pw_gid, "the ipcd user's group is ipcd"
    for path in ("/usr/sbin/ipcd", "/usr/bin/ipcctl", "/etc/ipcd/ipcd.conf", "/lib/systemd/system/ipcd.service",
                 "/lib/systemd/system/ipcd.socket", "/usr/include/ipcd/ipcd.h",
                 "/usr/share/bash-completion/completions/ipcctl", "/usr/share/man/man8/ipcd.8.gz",
                 "/usr/share/man/man3/libipcd.3.gz"):
        assert os.path.exists(path), path + " not installed"
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "ipcd"])
    assert "/etc/ipcd/ipcd.conf" in conffiles, conffiles
    os.makedirs("/run/ipcd", exist_ok=True)
    os.chown("/run/ipcd", ipcd_user.pw_uid, ipcd_user.pw_gid)
    daemon = subprocess.Popen(["/usr/sbin/ipcd"], user="ipcd", group="ipcd", extra_groups=[], env=ENV,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, cwd="/")
    try:
        wait_for_socket(SOCKET, daemon)
        st = os.stat(SOCKET)
        assert st.st_gid == ipcd_user.pw_gid and st.st_mode & 0o777 == 0o660, oct(st.st_mode)
        prog = os.path.join(work, "prog")
        with open(prog + ".c", "w") as f:
            f.write(C_PROGRAM)
        flags = run(["pkg-config", "--cflags", "--libs", "libipcd"]).split()
        run(["gcc", "-o", prog, prog + ".c"] + flags)
        assert run([prog]) == "c ok\n"
        assert run(["ipcctl", "ping"]).strip(), "ipcctl ping printed nothing"
        assert run(["python3", "-c", PYTHON_PROGRAM], cwd=work) == "python ok\n"
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    assert daemon.returncode == 0, "ipcd did not stop cleanly on SIGTERM: %s" % daemon.returncode


def main():
    source = sys.argv[1]
    if os.geteuid() != 0:
        print("SKIP: installing packages needs root; run as root (CI does)")
        return SKIP
    there = [p for p in PACKAGES if installed(p)]
    if there:
        print("SKIP: ipcd packages already installed here (%s); not touching them" % " ".join(there))
        return SKIP
    for tool in ("dpkg-buildpackage", "dh", "dh_python3", "fakeroot", "lintian"):
        assert shutil.which(tool), tool + " missing: ./setup.sh installs the packaging tools"
    had_user, had_group = exists(pwd.getpwnam, "ipcd"), exists(grp.getgrnam, "ipcd")
    had_run_dir = os.path.exists("/run/ipcd")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ipcd-pkg-") as work:
        debs = build(source, work)
        print("built in %.0f s: %s" % (time.monotonic() - started, " ".join(map(os.path.basename, debs))))
        try:
            run(["dpkg", "-i"] + debs, timeout=300)
            exercise(work)
        finally:
            subprocess.run(["dpkg", "--purge"] + PACKAGES, capture_output=True, timeout=300, env=ENV)
            if not had_user and exists(pwd.getpwnam, "ipcd"):
                subprocess.run(["userdel", "ipcd"], capture_output=True, timeout=60)
            if not had_group and exists(grp.getgrnam, "ipcd"):
                subprocess.run(["groupdel", "ipcd"], capture_output=True, timeout=60)
            if not had_run_dir:
                shutil.rmtree("/run/ipcd", ignore_errors=True)
    left = [p for p in PACKAGES if installed(p)]
    assert not left, "still installed after purge: %s" % left
    for path in ("/usr/sbin/ipcd", "/etc/ipcd/ipcd.conf", "/usr/lib/python3/dist-packages/ipcd"):
        assert not os.path.exists(path), path + " left after purge"
    print("ok in %.0f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
