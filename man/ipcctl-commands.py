#!/usr/bin/python3
"""Fill ipcctl(1)'s option and command lists from `ipcctl --describe`.

    ipcctl-commands.py IPCCTL IN.scd OUT.scd

Copies IN.scd to OUT.scd with the line %%OPTIONS%% replaced by ipcctl's
option table and %%COMMANDS%% by its command table, as scdoc. Both come
from `IPCCTL --describe` (client/ipcctl_options.c says its format: one
tab-separated line per option and per command, "-" for an empty field), so
the man page lists exactly what ipcctl parses, with the texts of --help.
"""
import re
import subprocess
import sys


def scd_escape(text):
    # scdoc: * and _ at word boundaries start bold and underline.
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def describe(ipcctl):
    """(options, commands): lists of dicts from ipcctl --describe."""
    out = subprocess.run([ipcctl, "--describe"], check=True, capture_output=True, text=True).stdout
    fields = {"option": ["short", "long", "arg", "values", "commands", "help", "detail"],
              "command": ["words", "alias", "usage", "synopsis", "help"]}
    rows = {"option": [], "command": []}
    for line in out.splitlines():
        kind, *vals = line.split("\t")
        assert len(vals) == len(fields[kind]), line
        rows[kind].append({k: (None if v == "-" else v) for k, v in zip(fields[kind], vals)})
    return rows["option"], rows["command"]


def sentence(text):
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def option_entry(o, longs):
    head = ("*%s*, " % o["short"] if o["short"] else "") + "*%s*" % o["long"]
    if o["arg"]:
        head += " _%s_" % o["arg"]
    text = sentence(o["help"])
    if o["commands"]:
        cmds = ["*%s*" % c for c in o["commands"].split(",")]
        text = "With %s: %s" % (" and ".join(cmds), text[0].lower() + text[1:])
    if o["values"]:
        text += " One of: %s." % ", ".join(o["values"].split())
    if o["detail"]:
        text += " " + o["detail"]
    text = scd_escape(text).replace("\\*", "*")
    # option names bold (the escaped form of --x is unchanged)
    text = re.sub(r"(?<![\w*-])(%s)(?![\w-])" % "|".join(re.escape(l) for l in longs), r"*\1*", text)
    if o["arg"]:
        text = re.sub(r"\b%s\b" % re.escape(o["arg"]), "_%s_" % o["arg"], text)
    return "%s\n\t%s\n" % (head, text)


def command_sections(cmds):
    sections = []
    for c in cmds:
        words = c["words"].split(" ")
        title = "Server and registry" if len(words) == 1 else words[0] + " ops"
        if not sections or sections[-1][0] != title:
            sections.append((title, []))
        sections[-1][1].append(c)
    out = []
    for title, entries in sections:
        out.append("## %s\n" % title)
        for c in entries:
            rest = c["synopsis"][len(c["words"]):]
            out.append("*%s*%s\n\t%s\n" % (c["words"], scd_escape(rest), scd_escape(c["help"])))
    return out


def main():
    ipcctl, src, dst = sys.argv[1:4]
    options, cmds = describe(ipcctl)
    longs = [o["long"] for o in options]
    with open(src) as f:
        page = f.read()
    for mark in ("%%OPTIONS%%\n", "%%COMMANDS%%\n"):
        assert page.count(mark) == 1, mark
    page = page.replace("%%OPTIONS%%\n", "\n".join(option_entry(o, longs) for o in options))
    page = page.replace("%%COMMANDS%%\n", "\n".join(command_sections(cmds)))
    with open(dst, "w") as f:
        f.write(page)


if __name__ == "__main__":
    main()
