#!/usr/bin/env python3
"""Checks that modules import one way: within every module of every crate,
the graph of its child modules (and the module's own file, as "(self)")
has no cycle.

An edge A -> B is a path in A's code (`crate::`, `super::`, `self::` or a
bare child name in a module file's `use`) that names something in B.
Re-exports (`pub use`) are a module's public face, not a dependency, and
test modules are left out.

    scripts/layers.py [CRATE_SRC ...]    # default: every crate's src/

Exits 1 and prints each cycle when there is one.
"""

import glob
import os
import re
import sys

DEFAULT_ROOTS = ["src", "tools/src", "app/src", "lab/src", "testkit/src"]


def module_of(root, path):
    """A file's module path, as a list of names."""
    parts = os.path.relpath(path, root)[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    elif parts[0] == "bin":
        return None  # binaries are crates of their own
    return parts


def strip(text):
    """The code without comments, string contents and test modules."""
    text = re.sub(r"#\[cfg\(test\)\]\s*mod \w+ \{.*", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand_groups(text):
    """`use a::b::{c, d::E, f::{g, h}}` written out as one path per item,
    so that each item counts, nested groups included."""
    out = []
    for m in re.finditer(r"\buse ([^;]*);", text):
        for path in flatten(m.group(1).strip()):
            out.append(f"use {path};")
    return text + "\n" + "\n".join(out)


def flatten(tree):
    """The paths of a use tree."""
    tree = tree.strip()
    if "{" not in tree:
        return [tree]
    head, rest = tree.split("{", 1)
    inner = rest[: rest.rindex("}")]
    items, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    paths = []
    for item in items:
        item = item.strip()
        if not item or item == "self":
            paths.append(head.rstrip(":"))
            continue
        paths += [head + p for p in flatten(item)]
    return paths


def edges_of(root):
    modules = {}
    for path in glob.glob(os.path.join(root, "**", "*.rs"), recursive=True):
        me = module_of(root, path)
        if me is not None:
            modules.setdefault(tuple(me), []).append(path)
    # Test-only modules (`#[cfg(test)] mod name;`) are left out.
    tests = set()
    for me, paths in modules.items():
        for path in paths:
            text = open(path, encoding="utf-8").read()
            for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))? )?mod (\w+);", text):
                tests.add(tuple(list(me) + [m.group(1)]))
    modules = {
        m: p for m, p in modules.items() if not any(m[: len(t)] == t for t in tests)
    }
    known = set(modules)
    edges = set()
    for me, paths in modules.items():
        for path in paths:
            text = strip(open(path, encoding="utf-8").read())
            # Re-exports are not dependencies.
            text = re.sub(r"\bpub(\([^)]*\))? use [^;]*;", "", text)
            targets = []
            text = expand_groups(text)
            for m in re.finditer(r"\b(crate|super|self)((?:::[a-z_][a-z0-9_]*)+)", text):
                names = m.group(2).split("::")[1:]
                if m.group(1) == "crate":
                    base = []
                elif m.group(1) == "self":
                    base = list(me)
                else:
                    base = list(me[:-1])
                targets.append(base + names)
            # `use child::...` in a module file names its own child.
            for m in re.finditer(r"\buse ([a-z_][a-z0-9_]*)::", text):
                if tuple(list(me) + [m.group(1)]) in known:
                    targets.append(list(me) + [m.group(1)])
            for target in targets:
                # The longest known module the path names.
                while target and tuple(target) not in known:
                    target = target[:-1]
                if target and tuple(target) != me:
                    edges.add((me, tuple(target)))
    return known, edges


def cycles(known, edges):
    """Cycles among the children of each module."""
    found = []
    parents = {m[:-1] for m in known if m} | {()}
    for parent in sorted(parents):
        depth = len(parent)

        def node(m):
            if m[:depth] != parent:
                return None
            return m[depth] if len(m) > depth else "(self)"

        graph = {}
        for a, b in edges:
            na, nb = node(a), node(b)
            if na is None or nb is None or na == nb:
                continue
            graph.setdefault(na, set()).add(nb)
            graph.setdefault(nb, set())
        found += [(parent, c) for c in strongly_connected(graph) if len(c) > 1]
    return found


def strongly_connected(graph):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    roots = sys.argv[1:] or DEFAULT_ROOTS
    failed = False
    for root in roots:
        known, edges = edges_of(root)
        for parent, component in cycles(known, edges):
            where = "::".join(parent) or "crate root"
            print(f"{root}: import cycle in {where}: {' -> '.join(component)}")
            failed = True
    if failed:
        sys.exit(1)
    print(f"no import cycle in {', '.join(roots)}")


if __name__ == "__main__":
    main()
