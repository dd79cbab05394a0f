#!/usr/bin/python3
"""Fill ipcctl(1)'s command list from `ipcctl --help`.

    ipcctl-commands.py IPCCTL IN.scd OUT.scd

Copies IN.scd to OUT.scd with the line %%COMMANDS%% replaced by the commands
of `IPCCTL --help` (the "Commands:" section and each "TYPE ops:" section)
as scdoc, so that the man page lists exactly the commands of ipcctl's
table, with the same usage and help as the help text.

help_line() in client/ipcctl.c prints each command as "  HEAD HELP" with
HEAD padded to 34 columns, or "  HEAD" then the help on the next line
indented by 37 when HEAD is longer.
"""
import subprocess
import sys


def scd_escape(text):
    # scdoc: * and _ at word boundaries start bold and underline.
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def commands(help_text):
    """[(section title, [(head, help)])] from ipcctl --help."""
    sections, cur, pending = [], None, None
    for line in help_text.splitlines():
        if line == "Commands:" or line.endswith(" ops:"):
            title = "Server and registry" if line == "Commands:" else line[:-len(" ops:")]
            cur = (title, [])
            sections.append(cur)
            continue
        if cur is None:
            continue
        if not line.startswith("  "):
            if line.strip():
                cur = None      # past the last section
            continue
        if pending is not None:
            cur[1].append((pending, line.strip()))
            pending = None
        elif len(line) > 37 and line[36] == " " and line[2:36].strip():
            cur[1].append((line[2:36].strip(), line[37:].strip()))
        else:
            pending = line.strip()
    return sections


def main():
    ipcctl, src, dst = sys.argv[1:4]
    text = subprocess.run([ipcctl, "--help"], check=True, capture_output=True, text=True).stdout
    out = []
    for title, cmds in commands(text):
        assert cmds, title
        out.append("## %s\n" % (title if title == "Server and registry" else title + " ops"))
        for head, hlp in cmds:
            out.append("*%s*\n\t%s\n" % (scd_escape(head), scd_escape(hlp)))
    with open(src) as f:
        page = f.read()
    assert page.count("%%COMMANDS%%\n") == 1
    with open(dst, "w") as f:
        f.write(page.replace("%%COMMANDS%%\n", "\n".join(out)))


if __name__ == "__main__":
    main()
