#!/usr/bin/env python3
"""The tables of docs/ that are generated from their sources, so that they cannot drift.

    scripts/docs_tables.py --write [--fireflies BIN]   rewrite the tables in docs/
    scripts/docs_tables.py --check [--fireflies BIN]   exit 1, naming each table that differs

  options    docs/running.md      from `fireflies --help` (the program's table of settings)
  bad-input  docs/reliability.md  from CASES in tests/e2e/test_bad_input.py

Each table sits between the lines
    <!-- BEGIN GENERATED name: ... -->
    <!-- END GENERATED name -->
and everything between them is replaced. BIN defaults to $FIREFLIES_BIN, else
build/release/src/fireflies. Needs only the Python standard library. tests/docs/test_docs.py
(ctest -L docs) imports this module and checks that the documents hold these tables.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNING = ROOT / "docs" / "running.md"
RELIABILITY = ROOT / "docs" / "reliability.md"
BAD_INPUT = ROOT / "tests" / "e2e" / "test_bad_input.py"

BEGIN = "<!-- BEGIN GENERATED {name}: {note} -->"
END = "<!-- END GENERATED {name} -->"
NOTES = {
    "options": "from `fireflies --help` by scripts/docs_tables.py --write; do not edit by hand",
    "bad-input": "from tests/e2e/test_bad_input.py by scripts/docs_tables.py --write; do not edit "
                 "by hand",
}


# ---- fireflies --help -------------------------------------------------------------------------

@dataclass
class option:
    names: list[str]          # ["-o", "--output"]
    value: str                # "PATH", "" for a flag or an action
    help: str                 # the text without its "(...; default: ...)" note
    units: str = ""
    default: str = ""
    group: str = ""

    @property
    def long(self) -> str:
        return next(n for n in self.names if n.startswith("--"))


def default_binary() -> str:
    return os.environ.get("FIREFLIES_BIN") or str(ROOT / "build" / "release" / "src" / "fireflies")


def help_text(binary: str) -> str:
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit(f"{binary} --help exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def parse_help(text: str) -> list[option]:
    """The options of `fireflies --help`, in its order: entries start with two spaces and a dash,
    their text continues on lines indented further; groups are lines like `Model:`."""
    options: list[option] = []
    group = ""
    entry = None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][A-Za-z ]*:", line):
            group = line[:-1]
            entry = None
            continue
        m = re.match(r"  (-\S*(?: [^ ]+)?)(?:\s{2,}(\S.*))?$", line)
        if m and group != "Example":
            names, _, value = m.group(1).partition(" ")
            entry = option(names.split(","), value, m.group(2) or "", group=group)
            options.append(entry)
        elif entry is not None and line.startswith("   ") and line.strip():
            entry.help = (entry.help + " " + line.strip()).strip()
        else:
            entry = None
    for o in options:
        # The trailing "(units; default: X)" or "(default: X)" note.
        if o.help.endswith(")") and "default:" in o.help[o.help.rfind(" ("):]:
            at = o.help.rfind(" (")
            note = o.help[at + 2:-1]
            o.help = o.help[:at]
            units, _, o.default = note.rpartition("default:")
            o.units = units.strip().rstrip(";").strip()
            o.default = o.default.strip()
    return options


def cell(text: str) -> str:
    """Plain text in a table cell: `|` escaped, and `<` `>` so that `<pid>` is not read as HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`" if text else ""


def options_table(options: list[option]) -> str:
    out: list[str] = []
    groups = list(dict.fromkeys(o.group for o in options))
    for g in groups:
        if out:
            out.append("")
        out.append(f"**{g}**")
        out.append("")
        out.append("| option | value | default | unit | meaning |")
        out.append("|---|---|---|---|---|")
        for o in (o for o in options if o.group == g):
            names = ", ".join(code(n) for n in o.names)
            out.append(f"| {names} | {code(o.value)} | {cell(o.default)} | {cell(o.units)} | "
                       f"{cell(o.help)} |")
    return "\n".join(out)


# ---- tests/e2e/test_bad_input.py ------------------------------------------------------------

@dataclass
class bad_input_case:
    name: str
    args: list[str]
    ranks: tuple[int, ...]
    files: dict[str, str] = field(default_factory=dict)


def read_cases(path: Path = BAD_INPUT) -> list[bad_input_case]:
    """CASES of the bad-input test, read without importing it (it needs h5py and MPI): its
    module-level assignments up to CASES are evaluated in order, with only `re` at hand."""
    tree = ast.parse(path.read_text(), str(path))
    names: dict[str, object] = {"re": re}
    found = False
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Name):
            continue
        try:
            value = eval(compile(ast.Expression(node.value), str(path), "eval"),
                         {"__builtins__": {}}, names)
        except Exception:  # an assignment CASES does not need (a function call, ...)
            continue
        names[target.id] = value
        if target.id == "CASES":
            found = True
            break
    if not found:
        raise SystemExit(f"{path}: no CASES list found")
    cases = []
    for case in names["CASES"]:
        ident, args, _names, ranks = case[:4]
        files = case[4] if len(case) > 4 else {}
        cases.append(bad_input_case(ident, [str(a) for a in args], tuple(ranks), dict(files)))
    return cases


def shown_file(text: str, longest: int = 120) -> str:
    """A file's text as the table shows it: JSON-quoted, a long one cut, with its length."""
    quoted = json.dumps(text)
    return code(quoted) if len(quoted) <= longest else f"{code(quoted[:longest] + '...')} ({len(text)} characters)"


def bad_input_table(cases: list[bad_input_case]) -> str:
    out = ["| case | arguments | ranks | file written first |", "|---|---|---|---|"]
    for c in cases:
        files = "; ".join(f"{code(n)}: {shown_file(t)}" for n, t in c.files.items())
        out.append(f"| {code(c.name)} | {code(' '.join(c.args))} | "
                   f"{', '.join(str(r) for r in c.ranks)} | {files} |")
    return "\n".join(out)


# ---- documents --------------------------------------------------------------------------------

def generated(name: str, fireflies: str | None = None) -> str:
    if name == "options":
        return options_table(parse_help(help_text(fireflies or default_binary())))
    if name == "bad-input":
        return bad_input_table(read_cases())
    raise KeyError(name)


def block_of(text: str, name: str, where: Path) -> tuple[int, int]:
    """Start and end offsets of the generated block `name` (between its marker lines)."""
    begin = re.search(r"^<!-- BEGIN GENERATED " + re.escape(name) + r":.*-->\n", text, re.M)
    end = re.search(r"^<!-- END GENERATED " + re.escape(name) + r" -->$", text, re.M)
    if not begin or not end or end.start() < begin.end():
        raise LookupError(f"{where}: no block between '<!-- BEGIN GENERATED {name}: ... -->' "
                          f"and '<!-- END GENERATED {name} -->'")
    return begin.end(), end.start()


def current(name: str, path: Path) -> str:
    text = path.read_text()
    a, b = block_of(text, name, path)
    return text[a:b].rstrip("\n")


def write(name: str, path: Path, table: str) -> bool:
    text = path.read_text()
    a, b = block_of(text, name, path)
    new = text[:a] + table + "\n" + text[b:]
    if new != text:
        path.write_text(new)
        return True
    return False


TABLES = (("options", RUNNING), ("bad-input", RELIABILITY))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the tables in docs/")
    mode.add_argument("--check", action="store_true", help="exit 1 if a table differs")
    ap.add_argument("--fireflies", default=None, help="the fireflies binary (for --help)")
    args = ap.parse_args(argv)
    status = 0
    for name, path in TABLES:
        table = generated(name, args.fireflies)
        rel = path.relative_to(ROOT)
        if args.write:
            print(f"{rel}: {name} table {'rewritten' if write(name, path, table) else 'unchanged'}")
        elif current(name, path) != table:
            print(f"{rel}: the {name} table differs from its source; "
                  f"run scripts/docs_tables.py --write", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
