"""proto/PROTOCOL.md says what proto/ops.def and proto/errors.def say.

The document is what outside clients are written from, so its error table
(section 6) and its op entries (section 8: name, code, arguments, flags)
must match the .def files the daemon and libipcd are built from. The .def
files are read with python/tools/gen_tables.py, their one parser.
"""
import os
import re
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python", "tools"))
import gen_tables  # noqa: E402

DOC = os.path.join(ROOT, "proto", "PROTOCOL.md")

# Argument types as the document writes them (NAME:type), by signature
# letter class: v/k are both "any value", m/o both "a map".
DOC_TYPES = {"uint": "u", "int": "i", "int|nil": "I", "str": "S", "str|nil": "s",
             "number": "n", "array": "a", "map": "m"}
# Arguments the document leaves untyped are typed by their name.
DOC_NAMES = {"NAME": "N", "KEY": "v", "TIMEOUT": "t", "OPTIONS": "m", "MAP": "m"}
SAME = {"k": "v", "o": "m"}


def section(text, number):
    m = re.search(r"^## %d\. .*?$(.*?)(?=^## \d+\. |\Z)" % number, text, re.M | re.S)
    assert m, "PROTOCOL.md has no section %d" % number
    return m.group(1)


def doc_errors(text):
    """{code: (name, closes)} from section 6's table."""
    rows = re.findall(r"^\| *(\d+) *\| *(\w+) *\| *(yes|no) *\|", section(text, 6), re.M)
    return {int(code): (name, closes == "yes") for code, name, closes in rows}


def doc_ops(text):
    """{wire name: (code, [argument tokens], {"write", "blocks", "owner"})} from section 8.

    An entry is a bold span naming one or more ops, "`name` (code)", then
    its arguments, then optional italic flags: **`queue.get` (21) NAME
    [TIMEOUT]** *write, blocks*."""
    body = " ".join(section(text, 8).split())
    ops = {}
    for m in re.finditer(r"\*\*(.+?)\*\*(?: \*([a-z, ]+)\*)?", body):
        names = list(re.finditer(r"`([a-z_.]+)` \((\d+)\)", m.group(1)))
        if not names:
            continue
        args = m.group(1)[names[-1].end():].split()
        flags = {f.strip() for f in (m.group(2) or "").split(",") if f.strip()}
        for n in names:
            assert n.group(1) not in ops, "PROTOCOL.md describes %s twice" % n.group(1)
            ops[n.group(1)] = (int(n.group(2)), args, flags)
    return ops


def letter(token):
    """The signature letter class of one argument token (NAME, [ID:uint])."""
    name, _, typ = token.strip("[]").partition(":")
    if typ:
        return DOC_TYPES.get(typ, "?" + typ)
    return DOC_NAMES.get(name, "v")


def signature(tokens):
    """tokens as a signature with letter classes, '|' before the optional ones."""
    req = "".join(letter(t) for t in tokens if not t.startswith("["))
    opt = "".join(letter(t) for t in tokens if t.startswith("["))
    assert all(not t.startswith("[") for t in tokens[:len(req)]), "a required argument after an optional one"
    return req + ("|" + opt if opt else "")


def usage(tokens):
    return " ".join(re.sub(r":[^\]]*", "", t) for t in tokens)


def check(text, ops, errs):
    """Every disagreement between the document text and the .def tables."""
    problems = []
    want_errs = {e.code: (e.name, e.closes) for e in errs if 0 < e.code < 100}
    got_errs = doc_errors(text)
    for code in sorted(set(want_errs) | set(got_errs)):
        if want_errs.get(code) != got_errs.get(code):
            problems.append("error %d: errors.def %s, PROTOCOL.md %s" % (code, want_errs.get(code), got_errs.get(code)))
    got_ops = doc_ops(text)
    for name in sorted(set(got_ops) - {op.name for op in ops}):
        problems.append("PROTOCOL.md describes %s, which ops.def lacks" % name)
    for op in ops:
        if op.name not in got_ops:
            problems.append("%s (%d) is not in PROTOCOL.md section 8" % (op.name, op.code))
            continue
        code, tokens, flags = got_ops[op.name]
        want_flags = {f for f, bit in (("write", 2), ("blocks", 4), ("owner", 8)) if op.flags & bit}
        want_sig = "".join(SAME.get(c, c) for c in op.sig)
        if code != op.code:
            problems.append("%s: code %d in ops.def, %d in PROTOCOL.md" % (op.name, op.code, code))
        if usage(tokens) != op.usage:
            problems.append("%s: arguments %r in ops.def, %r in PROTOCOL.md" % (op.name, op.usage, usage(tokens)))
        elif signature(tokens) != want_sig:
            problems.append("%s: signature %r in ops.def, PROTOCOL.md's argument types read %r"
                            % (op.name, op.sig, signature(tokens)))
        if flags != want_flags:
            problems.append("%s: flags %s in ops.def, %s in PROTOCOL.md" % (op.name, sorted(want_flags), sorted(flags)))
    return problems


@pytest.fixture(scope="module")
def tables():
    return (gen_tables.read_ops(gen_tables.def_path("ops.def")),
            gen_tables.read_errors(gen_tables.def_path("errors.def")))


@pytest.fixture(scope="module")
def text():
    with open(DOC) as f:
        return f.read()


def test_protocol_md_matches_ops_def_and_errors_def(text, tables):
    assert check(text, *tables) == []


def test_every_signature_letter_is_in_the_argument_table(text, tables):
    letters = set(re.findall(r"^\|[^|]*\| ([a-zA-Z](?:, [a-zA-Z])*) \|", section(text, 4), re.M))
    documented = {c for group in letters for c in group.split(", ")}
    used = {c for op in tables[0] for c in op.sig if c != "|"}
    assert used - documented == set()


@pytest.mark.parametrize("before, after, complaint", [
    ("| 9 | EMPTY | no |", "| 9 | EMTPY | no |", "error 9"),
    ("| 18 | TOOBIG | yes |", "| 18 | TOOBIG | no |", "error 18"),
    ("| 25 | NOTPENDING | no |", "", "error 25"),
    ("**`queue.get` (21) NAME [TIMEOUT]**", "**`queue.get` (22) NAME [TIMEOUT]**", "queue.get: code"),
    ("**`queue.get` (21) NAME [TIMEOUT]**", "**`queue.get` (21) NAME**", "queue.get: arguments"),
    ("**`list.get` (49) NAME INDEX:int**", "**`list.get` (49) NAME INDEX:uint**", "list.get: signature"),
    ("**`queue.join` (32) NAME [TIMEOUT]** *blocks*", "**`queue.join` (32) NAME [TIMEOUT]** *write, blocks*",
     "queue.join: flags"),
    ("**`ns.all` (83) NAME**", "**`ns.everything` (83) NAME**", "ns.everything, which ops.def lacks"),
])
def test_a_deliberate_mismatch_is_caught(text, tables, before, after, complaint):
    assert before in text
    problems = check(text.replace(before, after, 1), *tables)
    assert any(complaint in p for p in problems), problems
