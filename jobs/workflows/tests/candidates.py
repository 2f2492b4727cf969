"""Candidate tests: one test function each, split out of a generated module by parsing it (never run)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_MODULE_CHARS = 2 * 1024 * 1024
"""A generated module larger than this is not read."""


@dataclass(frozen=True)
class Target:
    """A module to write tests for: its path, its dotted name, and the source root it imports from."""

    path: str
    module: str
    root: str


@dataclass(frozen=True)
class Candidate:
    """One test function with the imports and helpers of the module it came from."""

    id: str
    target: Target
    function: str
    source: str


def module_of(path: str, roots: list[str]) -> Target:
    """The dotted module of a source file, under the deepest source root that holds it."""
    for root in sorted(roots, key=len, reverse=True):
        prefix = "" if root in ("", ".") else root + "/"
        if path.startswith(prefix):
            dotted = path[len(prefix) : -len(".py")].replace("/", ".")
            return Target(path, dotted.removesuffix(".__init__"), root or ".")
    return Target(path, path[: -len(".py")].replace("/", "."), ".")


def split(text: str, target: Target, prefix: str) -> list[Candidate]:
    """One candidate per top-level `test_*` function; every other top-level statement is kept in each."""
    if len(text) > MAX_MODULE_CHARS:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    lines = text.splitlines(keepends=True)
    shared: list[str] = []
    tests: list[tuple[str, str]] = []
    for node in tree.body:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
        assert node.end_lineno is not None
        chunk = "".join(lines[start : node.end_lineno])
        is_test = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
        if is_test:
            assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            tests.append((node.name, chunk))
        else:
            shared.append(chunk)
    head = "".join(shared).rstrip()
    return [
        Candidate(f"{prefix}-{n}", target, name, f"{head}\n\n\n{chunk.rstrip()}\n" if head else chunk)
        for n, (name, chunk) in enumerate(tests)
    ]
