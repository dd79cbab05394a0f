"""The man pages and the bash completion.

Each man page renders with man-db (`man -l --warnings`) without a warning,
and says what the code does: ipcd(8) every option of `ipcd --help`,
ipcd.conf(5) every config key, ipcctl(1) every option and command of
`ipcctl --describe`, each command as one entry, libipcd(3) every function ipcd.h exports. The completion
script loads in bash, registers itself, and completes commands, a type's
ops and the names of objects a live daemon holds.
"""
import os
import re
import subprocess

import pytest

from ipcd_testlib import env_bin

SRC_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN_DIR = os.environ.get("IPCD_MAN_DIR")
PAGES = ["ipcd.8", "ipcctl.1", "ipcd.conf.5", "libipcd.3"]
needs_man = pytest.mark.skipif(not MAN_DIR, reason="built with -Ddocs=false")


def ipcd_bin():
    return env_bin("IPCD_BIN", "ipcd")


def ipcctl_bin():
    return env_bin("IPCCTL_BIN", "ipcctl")


def run(argv, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=e, **kw)


def render(page):
    """The page as man shows it at 80 columns, and what man said on stderr
    with every warning turned on."""
    path = os.path.join(MAN_DIR, page)
    assert os.path.exists(path), path
    env = {"MANWIDTH": "80", "MAN_KEEP_FORMATTING": "", "LC_ALL": "C.UTF-8", "MANPAGER": "cat", "PAGER": "cat"}
    r = run(["man", "-l", "--warnings", path], env=env)
    assert r.returncode == 0, r
    return r.stdout, r.stderr


# ---- man pages -------------------------------------------------------------------

@needs_man
@pytest.mark.parametrize("page", PAGES)
def test_man_page_renders_without_warnings(page):
    out, err = render(page)
    assert err == "", "%s: man -l --warnings says:\n%s" % (page, err)
    name, section = page.rsplit(".", 1)
    assert out.startswith("%s(%s)" % (name, section)), out[:200]
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        assert "\n%s\n" % heading in out, (page, heading)
    assert "%%" not in out and "@VERSION@" not in out and "@SYSCONFDIR@" not in out


def plain(text):
    """Rendered text with hyphenation and reflowing undone enough to search."""
    text = text.replace("\u2010", "-").replace("\u2011", "-").replace("\u2212", "-")
    text = re.sub(r"-\n\s+", "", text)          # words hyphenated at a line end
    return re.sub(r"\s+", " ", text)


def help_options(text):
    """The long and short options of a --help text."""
    return set(re.findall(r"(?m)^\s+(-\w)(?=[, ])", text)) | set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", text))


@needs_man
def test_ipcd_8_has_every_option_and_ipcd_conf_5_every_key():
    helptext = run([ipcd_bin(), "--help"]).stdout
    out8 = plain(render("ipcd.8")[0])
    for opt in help_options(helptext.split("Config keys:")[0]):
        assert opt in out8, "ipcd(8) lacks %s" % opt
    keys = re.findall(r"(?m)^  (\w+)\s+default (\S+)", helptext.split("Config keys:")[1])
    assert len(keys) >= 10
    out5 = plain(render("ipcd.conf.5")[0])
    for key, default in keys:
        default = "empty" if default == '""' else default
        assert "%s = " % key in out5, "ipcd.conf(5) lacks %s" % key
        assert re.search(r"\b%s = \S+ \(default: %s\)" % (re.escape(key), re.escape(default)), out5), \
            "ipcd.conf(5): %s's default is not %s" % (key, default)
    # and the shipped file documents the same keys
    with open(os.path.join(SRC_DIR, "conf", "ipcd.conf")) as f:
        shipped = set(re.findall(r"(?m)^#(\w+) =", f.read()))
    assert shipped == {k for k, _ in keys}


@needs_man
def test_ipcctl_1_has_every_option_and_command():
    helptext = run([ipcctl_bin(), "--help"]).stdout
    raw = render("ipcctl.1")[0]
    out = plain(raw)
    for opt in help_options(helptext.split("Commands:")[0]):
        assert opt in out, "ipcctl(1) lacks %s" % opt
    commands = plain(raw.split("\nCOMMANDS\n")[1].split("\nVALUES\n")[0])
    for line in run([ipcctl_bin(), "--list-commands"]).stdout.splitlines():
        if line == "delete":
            continue            # rm's alias
        assert re.search(r"(^| )%s( |$)" % re.escape(line), commands), "ipcctl(1) lacks the command %s" % line
    # each command is one entry: its synopsis as the head, its help below
    # (as --describe lists them), not a line cut where --help wraps
    entries = man_command_entries(raw.split("\nCOMMANDS\n")[1].split("\nVALUES\n")[0])
    described = [(c[4], c[5]) for c in describe() if c[0] == "command"]
    assert entries == [(plain(h).strip(), plain(t).strip()) for h, t in described]
    # every option of the table has its entry in OPTIONS
    options = raw.split("\nOPTIONS\n")[1].split("\nCOMMANDS\n")[0]
    for o in (c for c in describe() if c[0] == "option"):
        head = ("%s, %s" % (o[1], o[2]) if o[1] != "-" else o[2]) + ("" if o[3] == "-" else " " + o[3])
        assert re.search(r"(?m)^ {7}%s$" % re.escape(head), options), "ipcctl(1) OPTIONS lacks %s" % head
    for code in range(6):
        assert " %d " % code in plain(raw.split("\nEXIT STATUS\n")[1].split("\nENVIRONMENT\n")[0])


def describe():
    """ipcctl --describe: one list of tab-separated fields per line."""
    r = run([ipcctl_bin(), "--describe"])
    assert r.returncode == 0 and r.stderr == "", r
    return [line.split("\t") for line in r.stdout.splitlines()]


def man_command_entries(section):
    """[(head, text)] of the rendered COMMANDS section: a head at indent 7
    (under a subsection title at 3), its text at indent 11, whitespace
    folded."""
    entries, started = [], False
    for line in section.splitlines():
        started = started or bool(re.match(r"^ {3}\S", line))     # past the intro paragraph
        if not started:
            continue
        if re.match(r"^ {7}\S", line) and entries and not entries[-1][1] and line.strip():
            entries[-1][0] += " " + line.strip()       # a long head wrapped by man
        elif re.match(r"^ {7}\S", line):
            entries.append([line.strip(), ""])
        elif re.match(r"^ {11}\S", line) and entries:
            entries[-1][1] += "\n" + line
    return [(plain(h).strip(), plain(t).strip()) for h, t in entries if t]     # not the intro paragraph


def test_debian_symbols_file_lists_every_exported_function():
    """dpkg-gensymbols checks the package's ABI against this file: a
    function ipcd.h exports but the file lacks gets no minimum version."""
    with open(os.path.join(SRC_DIR, "client", "ipcd.h")) as f:
        exported = set(re.findall(r"IPCD_EXPORT\s+[\w\s\*]*?\**(ipcd_\w+)\s*\(", f.read()))
    with open(os.path.join(SRC_DIR, "debian", "libipcd0.symbols")) as f:
        listed = set(re.findall(r"^ (ipcd_\w+)@Base ", f.read(), re.M))
    assert len(exported) > 50
    assert sorted(exported - listed) == [], "missing from debian/libipcd0.symbols"
    assert sorted(listed - exported) == [], "in debian/libipcd0.symbols but not exported"


@needs_man
def test_libipcd_3_names_every_exported_function():
    with open(os.path.join(SRC_DIR, "client", "ipcd.h")) as f:
        exported = set(re.findall(r"IPCD_EXPORT\s+[\w\s\*]*?\**(ipcd_\w+)\s*\(", f.read()))
    assert len(exported) > 50
    out = plain(render("libipcd.3")[0])
    missing = sorted(fn for fn in exported if fn + "(" not in out)
    assert not missing, "libipcd(3) does not name: %s" % ", ".join(missing)


@needs_man
def test_libipcd_3_gives_each_function_a_line_on_what_it_does():
    """Each exported function heads an entry (its name, then an indented
    line on its arguments, result and errors), not only a list of names."""
    with open(os.path.join(SRC_DIR, "client", "ipcd.h")) as f:
        exported = set(re.findall(r"IPCD_EXPORT\s+[\w\s\*]*?\**(ipcd_\w+)\s*\(", f.read()))
    text = re.sub(r".\x08", "", render("libipcd.3")[0])          # no overstrike
    lines = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()      # no SGR
    described = set()
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        indent = len(line) - len(line.lstrip())
        if nxt.strip() and len(nxt) - len(nxt.lstrip()) > indent:
            described.update(re.findall(r"\b(ipcd_\w+)\(", line))
    streams = {"ipcd_next"}   # described in its own section's prose
    missing = sorted(exported - described - streams)
    assert not missing, "libipcd(3) has no entry for: %s" % ", ".join(missing)


# ---- bash completion -----------------------------------------------------------

COMPLETION = os.environ.get("IPCCTL_COMPLETION", os.path.join(SRC_DIR, "completion", "ipcctl.bash"))


def complete(words, sock=None, cur_index=None):
    """COMPREPLY of _ipcctl for the command line words (the last one is the
    word under the cursor), in a fresh bash that sourced the script."""
    script = r'''
set -u
source "$1"; shift
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
_ipcctl
printf '%s\n' "${COMPREPLY[@]+"${COMPREPLY[@]}"}"
'''
    env = {"IPCD_SOCKET": sock} if sock else {}
    r = run(["bash", "--norc", "--noprofile", "-c", script, "bash", COMPLETION, ipcctl_bin()] + list(words),
            env=env)
    assert r.returncode == 0 and r.stderr == "", r
    return [w for w in r.stdout.split("\n") if w]


def test_completion_loads_and_registers_itself():
    r = run(["bash", "--norc", "--noprofile", "-c", 'source "$1" && complete -p ipcctl', "bash", COMPLETION])
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout.strip() == "complete -F _ipcctl ipcctl"


def test_completion_of_commands_types_ops_and_options():
    listed = run([ipcctl_bin(), "--list-commands"]).stdout.split()
    first = complete([""])
    assert set(first) >= {"ping", "info", "ls", "clients", "kill-client", "rm", "queue", "list", "dict", "ns"}
    assert set(first) <= set(listed) | {"help"}
    assert complete(["qu"]) == ["queue"]
    assert complete(["cl"]) == ["clients"]
    assert complete(["queue", "g"]) == ["get", "get_many", "get_ack", "get_ack_many"]
    assert complete(["q", "put_"]) == ["put_many"]
    assert complete(["dict", "inc"]) == ["incr"]
    assert complete(["--js"]) == ["--json"]
    assert complete(["-j", "--lis"]) == ["--list-commands"]
    assert complete(["create", "x", "d"]) == ["dict"]
    assert complete(["help", ""]) == ["queue", "list", "dict", "ns", "value", "array", "lock", "semaphore", "event",
                                      "condition", "barrier"]
    assert complete(["queue", "put", "jobs", ""]) == []      # a VALUE: nothing to offer
    # the operator tools' options and their values
    assert complete(["ls", "--sor"]) == ["--sort"]
    assert complete(["ls", "--sort", ""]) == ["name", "size", "rate"]
    assert complete(["watch", "--type", "d"]) == ["dict"]
    assert complete(["--color", "a"]) == ["auto", "always"]
    assert complete(["load", "x", "--rep"]) == ["--replace"]
    assert complete(["--count", "3", "mon"]) == ["monitor"]


def test_completion_follows_the_option_table():
    """Every option ipcctl --describe lists completes, and so does each
    value of an option whose values are a fixed set."""
    rows = [line.split("\t") for line in run([ipcctl_bin(), "--describe"]).stdout.splitlines()]
    options = [r for r in rows if r[0] == "option"]
    assert options
    offered = set(complete(["-"]))
    for _, short, long_, arg, choices, *_ in options:
        for name in (short, long_):
            if name != "-":
                assert name in offered, name
        if choices != "-":
            assert complete([long_, ""]) == choices.split(), long_


def test_completion_of_live_object_names(daemon):
    ctl = [ipcctl_bin(), "-s", daemon.sock_path]
    for args in (["create", "jobs", "queue"], ["create", "jobs.dead", "queue"], ["create", "j dict", "dict"],
                 ["list", "append", "journal", "1"]):
        assert run(ctl + args).returncode == 0
    sock = daemon.sock_path
    # a command taking NAME: every object (ls sorts them by name)
    assert complete(["stat", "j"], sock=sock) == ["j\\ dict", "jobs", "jobs.dead", "journal"]
    assert complete(["load", "jou"], sock=sock) == ["journal"]
    assert complete(["rm", "jobs."], sock=sock) == ["jobs.dead"]
    # TYPE OP NAME: only objects of that type
    assert complete(["queue", "get", ""], sock=sock) == ["jobs", "jobs.dead"]
    assert complete(["q", "qs", "jo"], sock=sock) == ["jobs", "jobs.dead"]
    assert complete(["list", "len", ""], sock=sock) == ["journal"]
    assert complete(["dict", "get", "j"], sock=sock) == ["j\\ dict"]
    # the socket named on the line wins over $IPCD_SOCKET
    assert complete(["-s", sock, "stat", "journ"], sock="/nonexistent") == ["journal"]
    assert complete(["stat", "journ"], sock="/nonexistent") == []
    # kill-client: connection ids, or pid and the pids
    p = subprocess.Popen(ctl + ["-w", "queue", "get", "jobs"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = 0
        while str(p.pid) not in complete(["kill-client", "pid", ""], sock=sock):
            deadline += 1
            assert deadline < 200 and p.poll() is None
        ids = complete(["kill-client", ""], sock=sock)
        assert "pid" in ids and any(w.isdigit() for w in ids)
    finally:
        p.kill()
        p.wait()
