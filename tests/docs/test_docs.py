"""The documentation is true of the program: README.md and docs/*.md against the code.

  - every long option of `fireflies --help` is in docs/running.md's options table, and every
    option there is in --help; the table is exactly what scripts/docs_tables.py generates;
  - every relative link in README.md and docs/*.md names an existing file, and every #anchor a
    heading of its target (GitHub's slugs);
  - the exit codes in docs/running.md are those defined in include/ and src/;
  - docs/reliability.md's bad-input catalogue is the CASES list of tests/e2e/test_bad_input.py
    (case, arguments, ranks), exactly as scripts/docs_tables.py generates it;
  - every CTest label of the suite is in docs/reliability.md's label table and in README.md;
  - README.md has at most 200 lines.

Standard library only. CTest (tests/docs/CMakeLists.txt, label docs) passes FIREFLIES_BIN, and
CTEST_COMMAND with FIREFLIES_BUILD_DIR for the label check. When a generated table is stale, the
fix is `scripts/docs_tables.py --write`.
"""
import difflib
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

ROOT = Path(os.environ.get("FIREFLIES_SOURCE_DIR") or Path(__file__).resolve().parents[2])
sys.path.insert(0, str(ROOT / "scripts"))
import docs_tables  # noqa: E402  (scripts/docs_tables.py)

README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 200


def documents():
    return [README] + sorted(DOCS.glob("*.md"))


def rel(path):
    return str(Path(path).relative_to(ROOT))


def without_code(text):
    """The text with fenced code blocks, inline code and HTML comments blanked out (line count
    kept), so that examples are not read as links or headings."""
    out = []
    fence = None
    for line in text.split("\n"):
        m = re.match(r"\s*(```|~~~)", line)
        if fence:
            if m and m.group(1) == fence:
                fence = None
            out.append("")
            continue
        if m:
            fence = m.group(1)
            out.append("")
            continue
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"(`+)(.+?)\1", lambda m: " " * len(m.group(0)), text)


def headings(text):
    """Heading texts of a markdown document, outside code."""
    found = []
    fence = None
    for line in text.split("\n"):
        m = re.match(r"\s*(```|~~~)", line)
        if fence:
            if m and m.group(1) == fence:
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        h = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if h:
            found.append(h.group(1))
    return found


def slug(heading):
    """GitHub's anchor for a heading: the rendered text, lower case, without punctuation other
    than '-' and '_', spaces as '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    seen = {}
    out = set()
    for h in headings(path.read_text()):
        base = slug(h)
        n = seen.get(base, 0)
        out.add(base if n == 0 else "%s-%d" % (base, n))
        seen[base] = n + 1
    return out


def links(text):
    """(line number, target) of every inline link and image outside code."""
    found = []
    for number, line in enumerate(without_code(text).split("\n"), 1):
        for m in re.finditer(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", line):
            found.append((number, m.group(1)))
    return found


def section(text, title):
    """The lines of the section under the heading `title` (up to the next heading of its level
    or above)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"(#{1,6})\s+(.*?)\s*$", line)
        if m and m.group(2) == title:
            level = len(m.group(1))
            body = []
            for rest in lines[i + 1:]:
                n = re.match(r"(#{1,6})\s", rest)
                if n and len(n.group(1)) <= level:
                    break
                body.append(rest)
            return body
    return None


def table_rows(lines):
    """The cells of the first markdown table in `lines`, header and separator left out."""
    rows = []
    started = False
    for line in lines:
        if line.startswith("|"):
            started = True
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            rows.append(cells)
        elif started:
            break
    return rows[1:]


def diff(expected, actual, what):
    return "\n".join(difflib.unified_diff(actual.split("\n"), expected.split("\n"),
                                          "%s as written" % what, "%s as generated" % what,
                                          lineterm="", n=1))


class Options(unittest.TestCase):
    """docs/running.md's options table against `fireflies --help`."""

    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("FIREFLIES_BIN") or docs_tables.default_binary()
        if not os.access(binary, os.X_OK):
            raise unittest.SkipTest("no fireflies binary at %s (set FIREFLIES_BIN)" % binary)
        cls.help = docs_tables.help_text(binary)
        cls.options = docs_tables.parse_help(cls.help)

    def test_every_option_of_help_is_documented_and_no_other(self):
        in_help = set(re.findall(r"^  (?:-\w,)?(--[a-z][a-z0-9-]*)", self.help, re.M))
        self.assertTrue(in_help, "no options found in --help:\n" + self.help)
        self.assertEqual(in_help, {o.long for o in self.options},
                         "scripts/docs_tables.py does not read --help as it is")
        block = docs_tables.current("options", docs_tables.RUNNING)
        documented = set()
        for line in block.split("\n"):
            if line.startswith("| `-"):
                documented |= set(re.findall(r"`(--[a-z][a-z0-9-]*)`", line.split("|")[1]))
        missing = sorted(in_help - documented)
        extra = sorted(documented - in_help)
        if missing or extra:
            self.fail("docs/running.md's options table and `fireflies --help` disagree: "
                      "missing from the table: %s; in the table but not in --help: %s. "
                      "Run scripts/docs_tables.py --write."
                      % (", ".join(missing) or "none", ", ".join(extra) or "none"))

    def test_table_is_the_generated_one(self):
        expected = docs_tables.options_table(self.options)
        actual = docs_tables.current("options", docs_tables.RUNNING)
        if expected != actual:
            self.fail("docs/running.md's options table is not what `fireflies --help` gives; "
                      "run scripts/docs_tables.py --write\n" + diff(expected, actual, "options"))


class Links(unittest.TestCase):
    """Relative links of README.md and docs/*.md."""

    def test_relative_links_resolve(self):
        problems = []
        for doc in documents():
            for number, target in links(doc.read_text()):
                if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                    continue
                path, _, anchor = target.partition("#")
                dest = doc if not path else (doc.parent / path).resolve()
                where = "%s:%d: %s" % (rel(doc), number, target)
                if not dest.exists():
                    problems.append("%s: no such file %s" % (where, dest))
                    continue
                if anchor and dest.suffix == ".md":
                    if anchor not in anchors(dest):
                        problems.append("%s: no heading with the anchor #%s in %s (it has: %s)"
                                        % (where, anchor, rel(dest),
                                           ", ".join(sorted(anchors(dest)))))
        if problems:
            self.fail("broken links in README.md or docs/:\n" + "\n".join(problems))

    def test_the_readme_links_every_document(self):
        linked = {(README.parent / t.partition("#")[0]).resolve()
                  for _, t in links(README.read_text()) if not re.match(r"[a-z]+:", t)}
        missing = [rel(d) for d in sorted(DOCS.glob("*.md")) if d.resolve() not in linked]
        if missing:
            self.fail("docs pages not linked from README.md: " + ", ".join(missing))


class ExitCodes(unittest.TestCase):
    """docs/running.md's exit codes against the code."""

    def defined(self):
        """{code: where} for every exit code: the constants of namespace fireflies::exit_codes in
        include/fireflies/error.hpp, the one place the program defines them. An exit constant or
        an error class with a literal code anywhere else in include/ or src/ is a failure."""
        header = ROOT / "include" / "fireflies" / "error.hpp"
        text = header.read_text()
        block = re.search(r"namespace exit_codes \{(.*?)\}", text, re.S)
        self.assertIsNotNone(block, "no namespace exit_codes in include/fireflies/error.hpp")
        codes = {}
        for m in re.finditer(r"inline\s+constexpr\s+int\s+(\w+)\s*=\s*(\d+)\s*;", block.group(1)):
            codes[int(m.group(2))] = "error.hpp: exit_codes::" + m.group(1)
        strays = []
        for path in sorted(list((ROOT / "include").rglob("*.hpp")) + list((ROOT / "src").rglob("*.[ch]pp"))):
            body = path.read_text()
            for pattern in (r":\s*error\(\s*what\s*,\s*\d+\s*\)",          # class x : error(what, N)
                            r"inline\s+constexpr\s+int\s+exit_\w+\s*=\s*\d+",  # exit_checkpointed = 85
                            r"\breturn\s+(?:[1-9]|[1-9]\d+)\s*;\s*//.*exit"):    # a bare exit code
                for m in re.finditer(pattern, body):
                    strays.append("%s:%d: %s" % (rel(path), body.count("\n", 0, m.start()) + 1, m.group(0)))
        self.assertEqual(strays, [], "exit codes defined outside fireflies::exit_codes")
        return codes

    def documented(self):
        body = section(DOCS.joinpath("running.md").read_text(), "Exit codes")
        self.assertIsNotNone(body, "docs/running.md has no '## Exit codes' section")
        codes = {}
        for cells in table_rows(body):
            m = re.fullmatch(r"`(\d+)(\+S)?`", cells[0])
            self.assertIsNotNone(m, "docs/running.md, Exit codes: %r is not a code like `2` or "
                                    "`128+S`" % cells[0])
            codes[int(m.group(1))] = cells[1]
        return codes

    def test_documented_codes_are_the_defined_ones(self):
        defined = self.defined()
        self.assertIn(85, defined, "exit_codes::checkpointed not found: has the code moved?")
        documented = self.documented()
        expected = set(defined)
        undocumented = sorted(set(expected) - set(documented))
        stale = sorted(set(documented) - set(expected))
        if undocumented or stale:
            self.fail("exit codes: defined in the code but not in docs/running.md: %s; "
                      "in docs/running.md but defined nowhere in include/ or src/: %s"
                      % (", ".join("%d (%s)" % (c, defined.get(c, "?")) for c in undocumented)
                         or "none", ", ".join(map(str, stale)) or "none"))


class BadInput(unittest.TestCase):
    """docs/reliability.md's catalogue against tests/e2e/test_bad_input.py."""

    def test_catalogue_cases_are_the_tests(self):
        cases = docs_tables.read_cases()
        self.assertGreater(len(cases), 10, "CASES of test_bad_input.py not read")
        block = docs_tables.current("bad-input", docs_tables.RELIABILITY)
        documented = [m.group(1) for m in re.finditer(r"^\| `([a-z0-9_]+)` \|", block, re.M)]
        tested = [c.name for c in cases]
        missing = sorted(set(tested) - set(documented))
        extra = sorted(set(documented) - set(tested))
        if missing or extra:
            self.fail("docs/reliability.md's bad-input catalogue and tests/e2e/test_bad_input.py "
                      "disagree: tested but not documented: %s; documented but not tested: %s. "
                      "Run scripts/docs_tables.py --write."
                      % (", ".join(missing) or "none", ", ".join(extra) or "none"))

    def test_catalogue_is_the_generated_one(self):
        expected = docs_tables.bad_input_table(docs_tables.read_cases())
        actual = docs_tables.current("bad-input", docs_tables.RELIABILITY)
        if expected != actual:
            self.fail("docs/reliability.md's bad-input catalogue differs from the cases of "
                      "tests/e2e/test_bad_input.py (arguments, ranks or files); run "
                      "scripts/docs_tables.py --write\n" + diff(expected, actual, "catalogue"))


class Labels(unittest.TestCase):
    """Every CTest label is documented."""

    def test_every_label_is_documented(self):
        ctest = os.environ.get("CTEST_COMMAND")
        build = os.environ.get("FIREFLIES_BUILD_DIR")
        if not ctest or not build:
            self.skipTest("CTEST_COMMAND and FIREFLIES_BUILD_DIR not set (run through ctest)")
        r = subprocess.run([ctest, "--print-labels"], cwd=build, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        labels = set(re.findall(r"^\s+(\S+)\s*$", r.stdout.split("All Labels:")[-1], re.M))
        self.assertIn("docs", labels, "ctest --print-labels gave:\n" + r.stdout)
        body = section(DOCS.joinpath("reliability.md").read_text(), "What is tested where")
        self.assertIsNotNone(body, "docs/reliability.md has no '## What is tested where'")
        table = {re.sub(r"`", "", cells[0]) for cells in table_rows(body)}
        # The README's list: "... runs one label: `unit`, `e2e`, ..., `docs` (what each ...".
        listed = re.search(r"one label:(.*?)\(", README.read_text(), re.S)
        self.assertIsNotNone(listed, "README.md has no list of labels ('runs one label: ...')")
        in_readme = set(re.findall(r"`([a-z0-9_]+)`", listed.group(1)))
        problems = []
        for label in sorted(labels - table):
            problems.append("label %r is missing from docs/reliability.md's table" % label)
        for label in sorted(table - labels):
            problems.append("docs/reliability.md's table has %r, which no test carries" % label)
        for label in sorted(labels - in_readme):
            problems.append("label %r is missing from README.md's list of labels" % label)
        for label in sorted(in_readme - labels):
            problems.append("README.md's list of labels has %r, which no test carries" % label)
        if problems:
            self.fail("CTest labels (ctest --print-labels) and the docs disagree:\n"
                      + "\n".join(problems))


class Readme(unittest.TestCase):

    def test_readme_is_short(self):
        n = len(README.read_text().splitlines())
        if n > README_MAX_LINES:
            self.fail("README.md has %d lines, more than %d: move reference material into docs/"
                      % (n, README_MAX_LINES))


if __name__ == "__main__":
    unittest.main(verbosity=2)
