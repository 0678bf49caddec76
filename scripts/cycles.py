#!/usr/bin/env python3
"""Circles of imports between modules, in the core, the shell and the test kit: each
file's `crate::…`, `super::…` and `self::…` paths (outside comments, above its first
`#[cfg(test)]`) are edges from its module to the module they name; a module's edges to its
own children are not circles. Checked per file and per top-level module. Prints each
circle and exits 1; exits 0 when there is none.

    python3 scripts/cycles.py [ROOT]
"""
import os
import re
import sys

ROOTS = ["crates/otklik-core/src", "src", "crates/otklik-testkit/src"]


def modules(src_root):
    mods = {}
    for dirpath, _, files in os.walk(src_root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src_root)[:-3].split("/")
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = []
            text = open(path, encoding="utf-8").read()
            cut = text.find("#[cfg(test)]")
            if cut >= 0:
                text = text[:cut]
            text = re.sub(r"(?m)^\s*//.*$", "", text)
            mods["::".join(rel)] = text
    return mods


def paths(text):
    """Every path a file names, with `use` groups expanded."""
    out = []
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)*)::\{([^;]*?)\}\s*;", text, re.S):
        for item in re.split(r",\s*", m.group(2)):
            item = item.strip().split(" as ")[0].strip("{} \n")
            if item:
                out.append(m.group(1) + "::" + item.replace("{", "").split("::{")[0])
    out += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", text)
    return out


def graph(mods, depth):
    names = set(mods)

    def resolve(segs):
        for k in range(len(segs), 0, -1):
            if "::".join(segs[:k]) in names:
                return segs[:k]
        return None

    edges = {}
    for m, text in mods.items():
        here = m.split("::") if m else []
        for p in paths(text):
            segs = p.split("::")
            base = list(here)
            if segs[0] == "crate":
                base, segs = [], segs[1:]
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super" and base:
                    base = base[:-1]
                segs = segs[1:]
            target = resolve(base + segs)
            if target is None:
                continue
            a, b = here[:depth], target[:depth]
            if not a or not b or a == b or b[: len(a)] == a or a[: len(b)] == b:
                continue
            edges.setdefault("::".join(a), set()).add("::".join(b))
    return edges


def circles(edges):
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    found = 0
    for base in ROOTS:
        mods = modules(os.path.join(root, base))
        for depth in (99, 1):
            for group in circles(graph(mods, depth)):
                found += 1
                level = "file" if depth == 99 else "module"
                print(f"{base}: {level} circle: {' -> '.join(group)}")
    sys.exit(1 if found else 0)
