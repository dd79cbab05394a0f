"""The Debian packages under a real systemd: a minimal Debian 12 booted in a
container, with nothing more than the packages ipcd's packages depend on.

The root file system comes from `debootstrap --variant=minbase` with
systemd, systemd-sysv, dbus, libpam-systemd and the runtime dependencies of the built
packages; it is cached in /var/cache/ipcd-tests/ (keyed by that package
list), so a machine pays for debootstrap once. Each run boots a copy with
`systemd-nspawn -b`, installs the packages with dpkg -i (offline: every
dependency is already there, nothing else is), runs each check of CHECKS in
order through `nsenter`, then powers the container off and removes the copy.

A check is a function of the Container; it starts with ipcd.socket
listening and the service in any state, and leaves them that way. To add
one, write check_something(box) and append it to CHECKS.

Exit 77 (skipped), saying why, when the machine cannot boot such a
container: not root, no cached root file system and no way to reach the
Debian mirror, or systemd-nspawn cannot boot one here. Once the container
runs, everything that fails is a failure.
"""
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from debs import ENV, build_debs, runtime_dependencies

SKIP = 77
SUITE = "bookworm"
MIRROR = os.environ.get("IPCD_DEBOOTSTRAP_MIRROR", "http://deb.debian.org/debian")
CACHE = "/var/cache/ipcd-tests"
# libpam-systemd: a user's own systemd (for the user units) starts through it.
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "libpam-systemd"]
# Inside the container: the shipped WatchdogSec (30 s) is replaced by this
# for the watchdog check only, so that it costs seconds.
TEST_WATCHDOG_SEC = 3
# "Not late" bounds, generous: the machine is shared.
BOOT_TIMEOUT = 120
WAIT_TIMEOUT = 30


class Skip(Exception):
    pass


def host_run(cmd, timeout, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV, **kw)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
    return p.stdout


# ---- the cached root file system ------------------------------------------------------

def rootfs(packages):
    """The cached minbase tree with packages, made if missing."""
    key = hashlib.sha256(" ".join([SUITE, "minbase"] + packages).encode()).hexdigest()[:12]
    path = os.path.join(CACHE, "%s-minbase-%s" % (SUITE, key))
    if os.path.isdir(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be making it
        if os.path.isdir(path):
            return path
        try:
            urllib.request.urlopen("%s/dists/%s/Release" % (MIRROR, SUITE), timeout=20).close()
        except OSError as e:
            raise Skip("no cached root file system in %s and the Debian mirror %s cannot be reached (%s); "
                       "set IPCD_DEBOOTSTRAP_MIRROR to a reachable one" % (CACHE, MIRROR, e))
        tmp = tempfile.mkdtemp(prefix=".%s-" % SUITE, dir=CACHE)
        try:
            started = time.monotonic()
            host_run(["debootstrap", "--variant=minbase", "--include=" + ",".join(packages), SUITE, tmp, MIRROR],
                     timeout=900)
            for deb in glob.glob(os.path.join(tmp, "var/cache/apt/archives/*.deb")):
                os.unlink(deb)
            os.chmod(tmp, 0o755)  # mkdtemp made it 0700: the root of a system
            os.rename(tmp, path)
            print("debootstrap: %s in %.0f s" % (path, time.monotonic() - started))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        # Trees for other package lists are not used any more.
        for old in glob.glob(os.path.join(CACHE, "%s-minbase-*" % SUITE)):
            if old != path:
                shutil.rmtree(old, ignore_errors=True)
    return path


# ---- the container ---------------------------------------------------------------------

class Container:
    """A copy of the root file system booted with systemd-nspawn."""

    def __init__(self, tree, work):
        self.tree = tree
        self.log_path = os.path.join(work, "boot.log")
        self.log = open(self.log_path, "w")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "-D", tree, "-b", "--register=no", "--keep-unit", "--console=read-only",
             "--private-network", "--machine=ipcd-test"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=ENV,
            start_new_session=True)
        self.init = None

    def boot_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-3000:]

    def wait_booted(self):
        """Wait for systemd in the container to finish booting. Skip if
        systemd-nspawn cannot start a container here at all; a boot that
        starts but does not finish is a failure."""
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise Skip("systemd-nspawn cannot boot a container here (exit %d):\n%s"
                           % (self.nspawn.returncode, self.boot_log()))
            if self.init is None:
                kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.nspawn.pid)],
                                      capture_output=True, text=True, timeout=10).stdout.split()
                self.init = int(kids[0]) if kids else None
            if self.init is not None:
                try:
                    p = self.sh_nocheck("systemctl is-system-running --wait",
                                        timeout=max(1, deadline - time.monotonic()))
                    if p.stdout.strip() in ("running", "degraded"):
                        return
                    if not p.stdout.strip():
                        # nothing answered: the child of nspawn taken for the
                        # container's init was a passing process; find it again
                        self.init = None
                except subprocess.TimeoutExpired:
                    break
            time.sleep(0.1)
        jobs = self.run_nocheck(["systemctl", "list-jobs", "--no-pager"]).stdout if self.init else ""
        raise AssertionError("the container did not finish booting within %d s; jobs left:\n%s\nboot log:\n%s"
                             % (BOOT_TIMEOUT, jobs, self.boot_log()))

    def run_nocheck(self, cmd, timeout=WAIT_TIMEOUT, user=None):
        inner = ["env", "-i"] + ["%s=%s" % kv for kv in ENV.items()]
        if user:
            inner = inner[:-1] + ["HOME=/home/" + user, "runuser", "-u", user, "--"]
        return subprocess.run(["nsenter", "-t", str(self.init), "-a"] + inner + cmd, capture_output=True,
                              text=True, timeout=timeout, env=ENV)

    def run(self, cmd, timeout=WAIT_TIMEOUT, user=None):
        p = self.run_nocheck(cmd, timeout, user)
        if p.returncode != 0:
            raise AssertionError("in the container%s: %s: exit %d\n%s%s"
                                 % (" as " + user if user else "", " ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p.stdout

    def sh_nocheck(self, script, timeout=WAIT_TIMEOUT, user=None):
        return self.run_nocheck(["sh", "-c", script], timeout, user)

    def sh(self, script, timeout=WAIT_TIMEOUT, user=None):
        return self.run(["sh", "-c", script], timeout, user)

    def show(self, prop, unit="ipcd.service"):
        return self.run(["systemctl", "show", "-P", prop, unit]).strip()

    def main_pid(self):
        return int(self.show("MainPID"))

    def wait_for(self, what, predicate, timeout=WAIT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("%s: not within %d s" % (what, timeout))
            time.sleep(0.1)

    def journal(self, unit="ipcd.service", invocation=None):
        """The unit's journal entries, as dicts of fields: its own, and
        systemd's about it (which carry INVOCATION_ID)."""
        cmd = ["journalctl", "--no-pager", "-o", "json"]
        cmd += (["_SYSTEMD_INVOCATION_ID=" + invocation, "+", "INVOCATION_ID=" + invocation] if invocation
                else ["-u", unit])
        return [json.loads(line) for line in self.run(cmd).splitlines() if line.strip()]

    def poweroff(self):
        if self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)  # nspawn halts the container
            try:
                self.nspawn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.nspawn.pid, signal.SIGKILL)
                self.nspawn.wait()
        if self.init is not None:
            try:
                os.kill(self.init, signal.SIGKILL)  # gone with nspawn, unless nspawn was killed
            except ProcessLookupError:
                pass
        self.log.close()


# ---- the checks ------------------------------------------------------------------------

def check_install(box):
    """dpkg -i with nothing but the dependencies present: the socket listens,
    the daemon waits for its first client."""
    box.sh("dpkg -i /root/debs/*.deb", timeout=300)
    assert box.run_nocheck(["systemctl", "is-active", "ipcd.socket"]).stdout.strip() == "active"
    assert box.run_nocheck(["systemctl", "is-active", "ipcd.service"]).stdout.strip() == "inactive", \
        "ipcd started before anyone connected"
    failed = box.run(["systemctl", "list-units", "--failed", "--plain", "--no-legend"])
    assert not failed.strip(), "failed units after install:\n" + failed


def check_socket_activation(box):
    """The first connection starts ipcd.service, and is answered."""
    box.run(["systemctl", "stop", "ipcd.service"])
    assert box.show("ActiveState") == "inactive"
    assert box.run(["ipcctl", "ping"]).strip(), "ipcctl ping printed nothing"
    assert box.show("ActiveState") == "active"
    assert box.main_pid() > 0


def check_start_stop_restart(box):
    box.run(["systemctl", "stop", "ipcd"])
    assert box.show("ActiveState") == "inactive"
    assert box.show("ActiveState", "ipcd.socket") == "active", "the socket went with the service"
    box.run(["systemctl", "start", "ipcd"])
    assert box.show("ActiveState") == "active"
    before = box.main_pid()
    box.run(["systemctl", "restart", "ipcd"])
    after = box.main_pid()
    assert after > 0 and after != before, "restart kept pid %d" % before
    box.run(["ipcctl", "ping"])


def check_status_line(box):
    """`systemctl status` shows the STATUS= ipcd sends, with its counters."""
    box.run(["systemctl", "restart", "ipcd"])
    box.run(["ipcctl", "queue", "put", "status-check", "1"])
    # STATUS= goes out every status_interval (5 s) when it changed.
    text = box.wait_for("STATUS= counting the new queue",
                        lambda: re.search(r"\b1 objects\b", box.show("StatusText")) and box.show("StatusText"),
                        timeout=WAIT_TIMEOUT)
    status = box.run_nocheck(["systemctl", "status", "--no-pager", "ipcd"]).stdout
    assert 'Status: "%s"' % text in status, status
    box.run(["ipcctl", "rm", "status-check"])


def check_reload_and_journal(box):
    """reload (SIGHUP through the unit's ExecReload) applies the config in
    place; ipcd's log is in the journal with its own fields."""
    box.run(["systemctl", "start", "ipcd"])
    pid = box.main_pid()
    invocation = box.show("InvocationID")
    box.sh("cp /etc/ipcd/ipcd.conf /root/ipcd.conf.orig && echo 'log_level = debug' >>/etc/ipcd/ipcd.conf")
    try:
        box.run(["systemctl", "reload", "ipcd"])
        assert box.main_pid() == pid, "reload restarted the daemon"
        # At debug every connect is logged, with the client's pid as a field.
        client = int(box.sh("echo $$; exec ipcctl ping >/dev/null").split()[0])
    finally:
        box.sh("mv /root/ipcd.conf.orig /etc/ipcd/ipcd.conf")
        box.run(["systemctl", "reload", "ipcd"])
    entries = [e for e in box.journal(invocation=invocation) if e.get("SYSLOG_IDENTIFIER") == "ipcd"]
    assert entries and all(e.get("_SYSTEMD_UNIT") == "ipcd.service" and e.get("_TRANSPORT") == "journal"
                           for e in entries), entries
    assert any(e["MESSAGE"].startswith("config reloaded from /etc/ipcd/ipcd.conf") and e["PRIORITY"] == "6"
               for e in entries), [e["MESSAGE"] for e in entries]
    box.wait_for("the connect of pid %d logged with CLIENT_PID" % client, lambda: any(
        e.get("CLIENT_PID") == str(client) and e["PRIORITY"] == "7" and "connected" in e["MESSAGE"]
        for e in box.journal(invocation=invocation)))
    status = box.run_nocheck(["systemctl", "status", "--no-pager", "-n", "50", "ipcd"]).stdout
    assert "config reloaded" in status, status


def check_watchdog(box):
    """A daemon that stops answering (SIGSTOP) is killed by the watchdog and
    started again; the socket stays and the new one answers."""
    assert box.show("WatchdogUSec") == "30s", "the shipped unit asks for watchdog pings"
    box.sh("mkdir -p /run/systemd/system/ipcd.service.d && "
           "printf '[Service]\\nWatchdogSec=%ds\\n' >/run/systemd/system/ipcd.service.d/watchdog.conf"
           % TEST_WATCHDOG_SEC)
    try:
        box.run(["systemctl", "daemon-reload"])
        box.run(["systemctl", "restart", "ipcd"])
        pid, invocation, restarts = box.main_pid(), box.show("InvocationID"), int(box.show("NRestarts"))
        stopped = time.monotonic()
        box.sh("kill -STOP %d" % pid)
        new = box.wait_for("a new ipcd after the watchdog", lambda: box.main_pid() not in (0, pid) and
                           box.show("ActiveState") == "active" and box.main_pid(),
                           timeout=TEST_WATCHDOG_SEC + WAIT_TIMEOUT)
        waited = time.monotonic() - stopped
        # ipcd pings every WatchdogSec/2: the last ping came at most that long
        # before SIGSTOP.
        assert waited >= TEST_WATCHDOG_SEC / 2, "restarted %.1f s after SIGSTOP: before the watchdog ran out" % waited
        assert int(box.show("NRestarts")) == restarts + 1
        messages = [e["MESSAGE"] for e in box.journal(invocation=invocation)]
        assert any("Watchdog timeout" in m for m in messages), messages
        assert any("Failed with result 'watchdog'" in m for m in messages), messages
        assert new > 0
        box.run(["ipcctl", "ping"])
    finally:
        box.run(["rm", "-rf", "/run/systemd/system/ipcd.service.d"])
        box.run(["systemctl", "daemon-reload"])
        box.run(["systemctl", "restart", "ipcd"])


def check_group_access(box):
    """Members of group ipcd use the system daemon; others are refused."""
    box.run(["useradd", "--create-home", "--groups", "ipcd", "member"])
    box.run(["useradd", "--create-home", "outsider"])
    assert box.run(["ipcctl", "ping"], user="member").strip()
    got = box.run(["python3", "-c", "import ipcd; d = ipcd.Dict('group-check'); d['by'] = 'member'; print(d['by'])"],
                  user="member")
    assert got == "member\n", got
    for cmd in (["ipcctl", "ping"], ["python3", "-c", "import ipcd; ipcd.Dict('group-check')['by']"]):
        p = box.run_nocheck(cmd, user="outsider")
        assert p.returncode != 0 and "Permission denied" in p.stderr, (cmd, p.returncode, p.stdout, p.stderr)
    box.run(["ipcctl", "rm", "group-check"])


def check_restart_keeps_data(box):
    """What the daemon acknowledged is there after a restart and after a
    stop and start: it is kept in the unit's StateDirectory, /var/lib/ipcd."""
    box.run(["ipcctl", "queue", "put", "kept-queue", '{"n": 1}'])
    box.run(["ipcctl", "dict", "set", "kept-dict", "k", "v"])
    box.run(["systemctl", "restart", "ipcd"])
    box.run(["systemctl", "stop", "ipcd"])
    box.run(["systemctl", "start", "ipcd"])
    assert box.sh("stat -c '%U %a' /var/lib/ipcd").split() == ["ipcd", "700"]
    assert box.run(["ipcctl", "--json", "queue", "get", "kept-queue"]).strip() == '{"n":1}'
    assert box.run(["ipcctl", "--json", "dict", "get", "kept-dict", "k"]).strip() == '"v"'
    box.run(["ipcctl", "rm", "kept-queue"])
    box.run(["ipcctl", "rm", "kept-dict"])


def check_user_units(box):
    """The user units under a user's own systemd (lingering, no login):
    socket activation on $XDG_RUNTIME_DIR/ipcd.sock, which clients try before
    the system socket, then reload, restart and stop."""
    uid = int(box.run(["id", "-u", "member"]))
    box.run(["loginctl", "enable-linger", "member"])
    runtime = "/run/user/%d" % uid
    box.wait_for("member's systemd", lambda: box.run_nocheck(
        ["systemctl", "is-active", "user@%d.service" % uid]).stdout.strip() == "active")

    def user(*cmd):
        return box.run(["env", "XDG_RUNTIME_DIR=" + runtime] + list(cmd), user="member")

    def user_show(prop):
        return user("systemctl", "--user", "show", "-P", prop, "ipcd.service").strip()
    try:
        user("systemctl", "--user", "enable", "--now", "ipcd.socket")
        assert user_show("ActiveState") == "inactive"
        user("ipcctl", "queue", "put", "user-check", "mine")
        assert user_show("ActiveState") == "active"
        pid = int(user_show("MainPID"))
        user("systemctl", "--user", "reload", "ipcd")
        assert int(user_show("MainPID")) == pid, "reload restarted the user daemon"
        user("systemctl", "--user", "restart", "ipcd")
        assert int(user_show("MainPID")) not in (0, pid)
        # The system daemon never saw the user's queue.
        assert box.run_nocheck(["ipcctl", "exists", "user-check"]).returncode != 0
        user("systemctl", "--user", "stop", "ipcd")
        assert user_show("ActiveState") == "inactive"
    finally:
        box.run_nocheck(["env", "XDG_RUNTIME_DIR=" + runtime, "systemctl", "--user", "disable", "--now",
                         "ipcd.socket", "ipcd.service"], user="member")
        box.run(["loginctl", "disable-linger", "member"])


CHECKS = [check_install, check_socket_activation, check_start_stop_restart, check_status_line,
          check_reload_and_journal, check_watchdog, check_group_access, check_restart_keeps_data,
          check_user_units]


def main():
    source = sys.argv[1]
    if os.geteuid() != 0:
        print("SKIP: booting a container with systemd-nspawn and installing packages in it needs root; "
              "run as root (CI does)")
        return SKIP
    for tool in ("debootstrap", "systemd-nspawn", "nsenter", "dpkg-buildpackage"):
        assert shutil.which(tool, path=ENV["PATH"]), tool + " missing: ./setup.sh installs it"
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="ipcd-container-", dir="/var/tmp")
    box = None
    try:
        os.makedirs(os.path.join(work, "build"))
        debs = build_debs(source, os.path.join(work, "build"))
        try:
            base = rootfs(sorted(set(BASE_PACKAGES + runtime_dependencies(debs))))
        except Skip as e:
            print("SKIP: %s" % e)
            return SKIP
        tree = os.path.join(work, "root")
        host_run(["cp", "-a", "--reflink=auto", base, tree], timeout=300)
        os.makedirs(os.path.join(tree, "root/debs"))
        for deb in debs:
            shutil.copy(deb, os.path.join(tree, "root/debs"))
        print("packages and container tree ready in %.0f s" % (time.monotonic() - started))
        box = Container(tree, work)
        try:
            box.wait_booted()
        except Skip as e:
            print("SKIP: %s" % e)
            return SKIP
        for check in CHECKS:
            t = time.monotonic()
            try:
                check(box)
            except Exception:
                print("FAILED: %s; the container's journal ends:\n%s" % (check.__name__, box.run_nocheck(
                    ["journalctl", "--no-pager", "-n", "60"]).stdout))
                raise
            print("ok %s (%.1f s)" % (check.__name__, time.monotonic() - t))
    finally:
        if box is not None:
            box.poweroff()
        shutil.rmtree(work, ignore_errors=True)
    print("ok in %.0f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
