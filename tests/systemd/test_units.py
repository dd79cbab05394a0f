"""The installed tree and the units in it. `meson install --destdir` into a
temp dir must give the units (system and user), the config, the sysusers.d
and tmpfiles.d snippets, the header, the library and its .pc file, at the
usual places under the build's prefix. Both unit pairs must pass
`systemd-analyze verify`, and the system service must stay hardened
(`systemd-analyze security --offline=yes`).

How verify works here, with no systemd as PID 1: it loads the unit files
given on its command line and checks them, including that every Exec*=
binary exists and is executable. The installed units name the installed
ipcd (PREFIX/sbin/ipcd), which is not on this machine, only in the destdir;
so each unit is copied to a temp dir with that path pointed into the
destdir, which is "the installed paths substituted into a temp tree".
`--root=DESTDIR` does not do it: then /bin/sh (ExecReload) and
sysinit.target are looked for inside the destdir too. `--user verify` needs
$XDG_RUNTIME_DIR to exist (it resolves %t); a temp dir does.
"""
import glob
import os
import re
import shutil
import subprocess

import pytest

ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def build_root():
    path = os.environ.get("IPCD_BUILD_ROOT")
    if not path:
        pytest.fail("IPCD_BUILD_ROOT is not set: run through meson test")
    return path


def meson_prefix():
    import json
    out = subprocess.run(["meson", "introspect", "--buildoptions", build_root()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    opts = {o["name"]: o["value"] for o in json.loads(out)}
    return opts


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("destdir"))
    p = subprocess.run(["meson", "install", "-C", build_root(), "--destdir", dest, "--no-rebuild", "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return dest, meson_prefix()


def under(opts, key, default):
    """An install dir option as an absolute path (meson's options are
    relative to prefix unless absolute)."""
    v = opts.get(key) or default
    return v if os.path.isabs(v) else os.path.join(opts["prefix"], v)


def test_install_tree(installed):
    dest, o = installed
    prefix = o["prefix"]

    def there(path):
        full = dest + path
        assert os.path.exists(full), "not installed: %s; tree:\n%s" % (path, "\n".join(
            sorted(os.path.relpath(os.path.join(r, f), dest) for r, _, fs in os.walk(dest) for f in fs)))
        return full

    sbin, bindir, libdir = (under(o, k, d) for k, d in (("sbindir", "sbin"), ("bindir", "bin"), ("libdir", "lib")))
    etc, inc = under(o, "sysconfdir", "etc"), under(o, "includedir", "include")
    assert os.access(there(sbin + "/ipcd"), os.X_OK)
    assert os.access(there(bindir + "/ipcctl"), os.X_OK)
    there(etc + "/ipcd/ipcd.conf")
    for h in ("ipcd.h", "ops.def", "errors.def"):
        there(inc + "/ipcd/" + h)
    assert glob.glob(dest + libdir + "/libipcd.so.0*")
    there(libdir + "/libipcd.so")
    pc = open(there(libdir + "/pkgconfig/libipcd.pc")).read()
    assert "Libs: -L${libdir} -lipcd" in pc and "ipcd" in pc
    unitdir = under(o, "systemdsystemunitdir", prefix + "/lib/systemd/system")
    userdir = under(o, "systemduserunitdir", prefix + "/lib/systemd/user")
    for d in (unitdir, userdir):
        for u in ("ipcd.service", "ipcd.socket"):
            text = open(there(d + "/" + u)).read()
            assert not re.search(r"@[a-z_]+@", text), "unfilled template in %s/%s" % (d, u)
    assert "ExecStart=%s/ipcd\n" % sbin in open(dest + unitdir + "/ipcd.service").read()
    assert "ListenStream=%t/ipcd.sock" in open(dest + userdir + "/ipcd.socket").read()
    sysusers = open(there(under(o, "sysusersdir", prefix + "/lib/sysusers.d") + "/ipcd.conf")).read()
    assert "u ipcd " in sysusers
    tmpfiles = open(there(under(o, "tmpfilesdir", prefix + "/lib/tmpfiles.d") + "/ipcd.conf")).read()
    assert "/run/ipcd" in tmpfiles
    # The installed config is the documented one, and valid.
    p = subprocess.run([dest + sbin + "/ipcd", "--check-config", dest + etc + "/ipcd/ipcd.conf"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def rendered(installed, tmp_path, which):
    """Copies of one unit pair with the installed ipcd's path pointed into the destdir."""
    dest, o = installed
    key, sub = {"system": ("systemdsystemunitdir", "system"), "user": ("systemduserunitdir", "user")}[which]
    src = dest + under(o, key, o["prefix"] + "/lib/systemd/" + sub)
    sbin = under(o, "sbindir", "sbin")
    out = tmp_path / which
    out.mkdir()
    for u in ("ipcd.service", "ipcd.socket"):
        text = open(os.path.join(src, u)).read().replace("=%s/ipcd" % sbin, "=%s%s/ipcd" % (dest, sbin))
        (out / u).write_text(text)
    return out


def analyze(args, cwd, env=None):
    if not os.path.exists(ANALYZE):
        pytest.fail("systemd-analyze not found: install Debian's systemd package (setup.sh does)")
    return subprocess.run([ANALYZE] + args, cwd=str(cwd), capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


def test_system_units_verify(installed, tmp_path):
    d = rendered(installed, tmp_path, "system")
    p = analyze(["verify", "--man=no", "./ipcd.service", "./ipcd.socket"], d)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr


def test_user_units_verify(installed, tmp_path):
    d = rendered(installed, tmp_path, "user")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    p = analyze(["--user", "verify", "--man=no", "./ipcd.service", "./ipcd.socket"], d,
                env={"XDG_RUNTIME_DIR": str(runtime)})
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr


def test_system_service_is_hardened(installed, tmp_path):
    d = rendered(installed, tmp_path, "system")
    p = analyze(["security", "--offline=yes", "--threshold=15", "./ipcd.service"], d)
    assert p.returncode == 0, p.stdout + p.stderr
    level = [l for l in p.stdout.splitlines() if "Overall exposure level" in l]
    assert level, p.stdout
    score = float(level[0].split(":")[1].split()[0])
    assert score <= 1.5, level[0]
    for must in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateNetwork=yes",
                 "RestrictAddressFamilies=AF_UNIX", "SystemCallFilter=@system-service",
                 "MemoryDenyWriteExecute=yes", "LockPersonality=yes", "RuntimeDirectory=ipcd"):
        assert must in (d / "ipcd.service").read_text(), must
    sock = (d / "ipcd.socket").read_text()
    for must in ("ListenStream=/run/ipcd/ipcd.sock", "SocketMode=0660", "SocketGroup=ipcd"):
        assert must in sock, must


# What a minimal Debian (debootstrap --variant=minbase) has: the Essential
# set. /bin/kill is not in it (procps), /bin/sh is.
MINIMAL_SYSTEM = {"/bin/sh"}


def test_units_run_only_what_a_minimal_system_has(installed):
    dest, o = installed
    sbin = under(o, "sbindir", "sbin")
    for key, sub in (("systemdsystemunitdir", "system"), ("systemduserunitdir", "user")):
        path = dest + under(o, key, o["prefix"] + "/lib/systemd/" + sub) + "/ipcd.service"
        for line in open(path):
            m = re.match(r"Exec\w+=[-@:+!]*(\S+)", line)
            if m:
                assert m.group(1) in MINIMAL_SYSTEM | {sbin + "/ipcd"}, "%s: %s" % (path, line.strip())
