#!/usr/bin/env python3
"""The size limits of the product code: no file over 700 lines and no function over 100,
both counted up to the file's first `#[cfg(test)]` (tests live below it). Prints what is
over and exits 1; prints nothing and exits 0 when all is within.

    python3 scripts/sizes.py [ROOT]
"""
import os
import re
import sys

ROOTS = ["src", "crates/otklik-core/src", "crates/otklik-testkit/src"]
FILE_LIMIT = 700
FN_LIMIT = 100
FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def product_lines(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    for i, line in enumerate(lines):
        if line.strip().startswith("#[cfg(test)]"):
            return lines[:i]
    return lines


def check(root):
    over = []
    for base in ROOTS:
        for dirpath, _, files in os.walk(os.path.join(root, base)):
            for name in sorted(files):
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                lines = product_lines(path)
                if len(lines) > FILE_LIMIT:
                    over.append(f"file {rel}: {len(lines)} lines")
                for i, line in enumerate(lines):
                    m = FN.match(line)
                    if not m or line.rstrip().endswith(";"):
                        continue
                    # rustfmt closes a function at its own indentation
                    end = next(
                        (j for j in range(i, len(lines)) if lines[j] == m.group(1) + "}"),
                        len(lines) - 1,
                    )
                    if end - i + 1 > FN_LIMIT:
                        over.append(f"fn {rel}:{i + 1} {m.group(7)}: {end - i + 1} lines")
    return over


if __name__ == "__main__":
    found = check(sys.argv[1] if len(sys.argv) > 1 else ".")
    for line in found:
        print(line)
    sys.exit(1 if found else 0)
