"""Every function in src/ and include/ is shorter than 60 lines. Fails naming each one that is not, with its
file, line and length; --list prints every function's length, longest first.

    check_function_length.py [--limit 60] [--list] [--root DIR] [PATH...]

A function's length is its lines from the first line of its declaration (a template clause on a
line of its own included) to its closing brace, blank and comment lines included: what a reader
scrolls through. Lambdas and local classes count as part of the function that holds them.

The counter reads the text, not an AST (nothing to install, a second to run): comments, string
and character literals and preprocessor lines are blanked out first, then the braces are matched
at namespace and class scope. A brace opens a function body when what precedes it (since the last
`;`, `{` or `}` of that scope) is a declarator with a parameter list and no `=` before it, and not
a class, struct, union, enum, namespace or extern "C" block; a constructor's member initialisers
(`x_{...}` after the `:`) are skipped, and so are braces inside parentheses (`= {}` defaults).
Every other brace at those scopes (a class, an initializer) is entered or skipped as what it is.
Checked against libclang (python3-clang-14: the extents of the AST's function definitions) on
src/ at the commit that added it: the same start line and length for every function with a body.
"""
import argparse
import pathlib
import re
import signal
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SUFFIXES = (".cpp", ".hpp", ".h", ".inc", ".cc")
SCOPE_KEYWORDS = re.compile(r"^(class|struct|union|namespace|enum)\b|^extern\s*\"\s*\"\s*$")
# an operator's name, up to the ( of its parameter list: operator<, operator(), operator new ...
OPERATOR = re.compile(r"\boperator\s*(?:\(\s*\)|\[\s*\]|[^\s\w(]+|\w[\w\s:<>*&]*?)\s*\(")
LEADING = re.compile(
    r"^\s*(?:(?:public|private|protected)\s*:|\[\[[^\]]*\]\]|template\s*(?=<))\s*")


def blank(text):
    """The text with comments, literals and preprocessor lines turned into spaces (newlines kept,
    so that offsets keep their line numbers)."""
    out = list(text)
    i, n = 0, len(text)

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            j = i
            while j < n and (text[j] != "\n" or text[j - 1] == "\\"):
                j += 1
            wipe(i, j)
            i = j
            continue
        if c == "\n":
            line_start = True
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
        elif c == "R" and text.startswith('"', i + 1) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_") or text[i - 1] in "8uUL"):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            wipe(i + 1, j)
            i = j
        elif c == '"' or (c == "'" and not digit_separator(text, i)):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, j)
            i = j + 1
        else:
            i += 1
    return "".join(out)


def digit_separator(text, i):
    """Whether the ' at i separates digits (1'000'000), not opens a character literal."""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "'."):
        j -= 1
    return j < i and text[j].isdigit()


def matching(text, i, open_, close):
    """The index of the bracket that closes the one at i."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_:
            depth += 1
        elif text[j] == close:
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def strip_leading(header):
    """The header without access specifiers, attributes and template clauses before it."""
    while True:
        m = LEADING.match(header)
        if not m:
            return header
        header = header[m.end():]
        if m.group(0).rstrip().endswith("template"):
            depth, k = 0, 0
            for k, ch in enumerate(header):
                depth += (ch == "<") - (ch == ">")
                if depth == 0 and ch == ">":
                    break
            header = header[k + 1:].lstrip()


def parameter_list(header):
    """The indices of the ( and ) around the declarator's parameter list (the first top-level
    parenthesis after a name, `operator()` read as a name), or (-1, -1)."""
    m = OPERATOR.search(header)
    if m and "=" not in header[:m.start()]:
        return m.end() - 1, matching(header, m.end() - 1, "(", ")")
    depth = 0
    for k, ch in enumerate(header):
        if ch in "<[":
            depth += 1
        elif ch in ">]" and depth > 0:
            depth -= 1
        elif ch == "=" and depth == 0:
            return -1, -1  # an initializer (a lambda, a brace list), not a function
        elif ch == "(" and depth == 0:
            if re.search(r"operator\s*$", header[:k]):
                continue
            return k, matching(header, k, "(", ")")
    return -1, -1


def functions(path, rel):
    """(name, first line, length in lines) of each function defined in the file."""
    text = blank(path.read_text(errors="replace"))
    found = []
    line_of = lambda offset: text.count("\n", 0, offset) + 1

    def scope(i, end):
        """Reads declarations from i to end (namespace or class scope)."""
        start = i
        while i < end:
            ch = text[i]
            if ch == "(":
                i = matching(text, i, "(", ")")  # a parameter list's braces (= {}) open nothing
            elif ch in ";}":
                start = i + 1
            elif ch == "{":
                i = opened(start, i)
                start = i + 1
            i += 1

    def opened(start, brace):
        """What the brace at `brace` opens; returns the index of its closing brace."""
        raw = text[start:brace]
        header = strip_leading(raw.strip())
        close = matching(text, brace, "{", "}")
        if SCOPE_KEYWORDS.search(header) and not re.match(r"^enum\b", header):
            scope(brace + 1, close)
            return close
        begin, end = parameter_list(header)
        if end < 0 or SCOPE_KEYWORDS.search(header):
            return close  # an initializer or an enum
        tail = header[end + 1:]
        if re.match(r"\s*:(?!:)", tail):
            # a constructor: braces after a member's name are its initialiser, not the body
            while re.search(r"[\w>]\s*$", text[start:brace]):
                brace = matching(text, brace, "{", "}") + 1
                brace = text.index("{", brace)
            close = matching(text, brace, "{", "}")
        access = re.match(r"\s*(?:(?:public|private|protected)\s*:\s*)*", raw)
        first = start + access.end()
        name = re.sub(r"\s+", "", re.search(r"[\w:~]*(?:operator\s*\S+?\s*)?$", header[:begin]).group(0))
        found.append((rel, name, line_of(first), line_of(close) - line_of(first) + 1))
        return close

    scope(0, len(text))
    return found


def sources(root, paths):
    if paths:
        for p in paths:
            p = pathlib.Path(p)
            yield from ([p] if p.is_file() else sorted(q for q in p.rglob("*") if q.suffix in SUFFIXES))
    else:
        for folder in ("src", "include"):
            yield from sorted(q for q in (root / folder).rglob("*") if q.suffix in SUFFIXES)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=60, help="a function this long or longer fails")
    ap.add_argument("--list", action="store_true", help="every function's length, longest first")
    ap.add_argument("--root", default=str(ROOT))
    ap.add_argument("paths", nargs="*", help="files or folders (default: the root's src/ and include/)")
    o = ap.parse_args()
    root = pathlib.Path(o.root)
    every = []
    files = list(sources(root, o.paths))
    for path in files:
        rel = path.resolve().relative_to(root.resolve()).as_posix() if path.resolve().is_relative_to(root.resolve()) else str(path)
        every += functions(path, rel)
    if len(files) < 10 and not o.paths:
        print("check_function_length: only %d sources found under %s" % (len(files), root))
        return 1
    every.sort(key=lambda f: -f[3])
    if o.list:
        for rel, name, line, length in every:
            print("%5d  %s:%d  %s" % (length, rel, line, name))
    long = [f for f in every if f[3] >= o.limit]
    for rel, name, line, length in long:
        print("%s:%d: %s is %d lines (the limit is under %d)" % (rel, line, name, length, o.limit))
    print("check_function_length: %d functions in %d files, the longest %d lines (%s); %d of %d lines or more"
          % (len(every), len(files), every[0][3] if every else 0, every[0][1] if every else "-", len(long), o.limit))
    return 1 if long else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # (--list | head)
    sys.exit(main())
