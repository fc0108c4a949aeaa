#!/usr/bin/env python3
"""Counts the places that branch on the sender, in every `*/src/**` of the workspace.

Issue 16's measure of "one sender, one place": a branch on the sender is

- a `match` with an arm whose pattern names a variant of `Scheme` (or of an enum that
  mirrors it, such as the CLI's `SchemeArg`): every arm of that match counts, `_`
  included;
- a `matches!(…, Scheme::X …)`, an `if let`/`let … else` whose pattern names one, or an
  `==` / `!=` against one: one branch each.

Using `Scheme::Stalwart` as a value (an argument, a constant, a table entry) is not
branching. Comments and string literals are ignored; `#[cfg(test)]` code inside `src/`
counts like the rest (pass `--no-tests` to leave it out).

    python3 scripts/sender-branches.py            # per file, then the total
    python3 scripts/sender-branches.py --no-tests
"""

import pathlib
import re
import sys

MIRRORS = ("Scheme", "SchemeArg")
VARIANT = re.compile(r"\b(?:%s)::[A-Z]\w*" % "|".join(MIRRORS))


def strip(text):
    """Blanks comments, string and char literals, keeping offsets and newlines."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + len(m.group(0)))
            j = n if j < 0 else j + len(close)
            blank(i + 1, j - 1)
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            blank(i + 1, i + len(m.group(0)) - 1)
            i += len(m.group(0))
        else:
            i += 1
    return "".join(out)


def drop_tests(code):
    """Blanks `#[cfg(test)] mod … { … }` blocks."""
    out = list(code)
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", code):
        end = matching(code, m.end() - 1)
        for k in range(m.start(), end):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


def matching(code, open_at):
    """Index just past the bracket that closes the one at `open_at`."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack, i = [], open_at
    while i < len(code):
        c = code[i]
        if c in pairs:
            stack.append(pairs[c])
        elif stack and c == stack[-1]:
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    return len(code)


def match_arms(code):
    """(start, [arm patterns]) of every `match` expression."""
    for m in re.finditer(r"\bmatch\b", code):
        # The scrutinee runs to the first `{` outside brackets.
        i, depth = m.end(), 0
        while i < len(code):
            c = code[i]
            if c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif c == "{" and depth == 0:
                break
            i += 1
        body_end = matching(code, i) - 1
        arms, j = [], i + 1
        while j < body_end:
            # Pattern: up to `=>` at depth 0.
            k, depth = j, 0
            while k < body_end and not (depth == 0 and code.startswith("=>", k)):
                if code[k] in "([{":
                    depth += 1
                elif code[k] in ")]}":
                    depth -= 1
                k += 1
            if k >= body_end:
                break
            arms.append(code[j:k])
            # Arm body: a block (then an optional comma) or an expression up to `,`.
            k += 2
            while k < body_end and code[k].isspace():
                k += 1
            if k < body_end and code[k] == "{":
                k = matching(code, k)
                while k < body_end and code[k].isspace():
                    k += 1
                if k < body_end and code[k] == ",":
                    k += 1
            else:
                depth = 0
                while k < body_end and not (depth == 0 and code[k] == ","):
                    if code[k] in "([{":
                        depth += 1
                    elif code[k] in ")]}":
                        depth -= 1
                    k += 1
                k += 1
            j = k
        yield m.start(), arms


def count(code):
    """(arms of sender matches, other branches) in one file's code."""
    arms = 0
    for _, patterns in match_arms(code):
        if any(VARIANT.search(p.split(" if ")[0]) for p in patterns):
            arms += len(patterns)
    other = 0
    for m in re.finditer(r"\bmatches!\s*\(", code):
        inner = code[m.end() : matching(code, m.end() - 1) - 1]
        depth = 0
        for k, c in enumerate(inner):
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif c == "," and depth == 0:
                if VARIANT.search(inner[k + 1 :]):
                    other += 1
                break
    for m in re.finditer(r"\blet\s+([^=;]*?)\s=(?![=>])", code):
        if VARIANT.search(m.group(1)):
            other += 1
    other += len(re.findall(r"[!=]=\s*(?:%s)::[A-Z]" % "|".join(MIRRORS), code))
    other += len(re.findall(r"(?:%s)::[A-Z]\w*\s*[!=]=" % "|".join(MIRRORS), code))
    return arms, other


def main():
    no_tests = "--no-tests" in sys.argv
    root = pathlib.Path(__file__).resolve().parent.parent
    files = sorted(
        p
        for p in root.glob("*/src/**/*.rs")
        if "target" not in p.parts and p.name != "generated.rs"
    )
    total_arms = total_other = 0
    branching = []
    for path in files:
        code = strip(path.read_text())
        if no_tests:
            code = drop_tests(code)
        arms, other = count(code)
        if arms or other:
            branching.append(path)
            print(f"{arms + other:4}  ({arms} match arms, {other} other)  {path.relative_to(root)}")
        total_arms += arms
        total_other += other
    print(
        f"{total_arms + total_other:4}  ({total_arms} match arms, {total_other} other) "
        f"in {len(branching)} files"
    )


if __name__ == "__main__":
    main()
