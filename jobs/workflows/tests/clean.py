"""Kept tests made fit to propose: named after what they test, merged per module, formatted with ruff."""

from __future__ import annotations

import ast
import re
import shlex

from jobs.workflows.tests.candidates import Candidate
from jobs.workflows.tests.sandboxenv import RUFF, SCRATCH, has_tool, write_file
from jobs.workflows.tests.session import Session

_WORD = re.compile(r"[^0-9a-zA-Z_]+")


def _snake(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return _WORD.sub("_", spaced).strip("_").lower() or "module"


def tested_name(candidate: Candidate) -> str:
    """The first function or class of the module under test that the test calls (`module` if none)."""
    try:
        tree = ast.parse(candidate.source)
    except SyntaxError:
        return "module"
    aliases = {candidate.target.module.rsplit(".", 1)[-1]}
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == candidate.target.module}
        elif isinstance(node, ast.ImportFrom) and node.module == candidate.target.module:
            imported |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Assign) and _is_module_lookup(node.value, candidate.target.module):
            aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    test = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == candidate.function), None
    )
    for node in ast.walk(test) if test is not None else []:
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in aliases:
            return _snake(func.attr)
        if isinstance(func, ast.Name) and func.id in imported:
            return _snake(func.id)
    return "module"


def _is_module_lookup(value: ast.expr, module: str) -> bool:
    """`sys.modules["pkg.mod"]`, as Pynguin binds the module under test."""
    return (
        isinstance(value, ast.Subscript)
        and isinstance(value.slice, ast.Constant)
        and value.slice.value == module
        and isinstance(value.value, ast.Attribute)
        and value.value.attr == "modules"
    )


def _renamed(candidate: Candidate, new: str) -> tuple[str, str]:
    """The candidate's shared part (imports, helpers) and its test function under the new name."""
    head, _, body = candidate.source.rpartition("\n\n\n")
    body = re.sub(
        rf"^((?:async\s+)?def\s+){re.escape(candidate.function)}\b", rf"\g<1>{new}", body, count=1, flags=re.M
    )
    return head.strip("\n"), body.strip("\n")


HEADER = '"""Tests written by Steward\'s tests workflow, kept because they pass reliably and add coverage."""'


def merge(kept: list[Candidate]) -> str:
    """One module of the kept tests, each `test_<function>_<n>`, each shared part once, in order."""
    heads: list[str] = []
    bodies: list[str] = []
    counts: dict[str, int] = {}
    for candidate in kept:
        name = tested_name(candidate)
        counts[name] = counts.get(name, 0) + 1
        head, body = _renamed(candidate, f"test_{name}_{counts[name]}")
        if head and head not in heads:
            heads.append(head)
        bodies.append(body)
    lines: list[str] = []
    for line in "\n".join(heads).split("\n"):
        if line.startswith(("import ", "from ")) and line in lines:
            continue
        if line.lstrip().startswith("#") and "Pynguin" in line:
            continue
        lines.append(line)
    header = "\n".join(lines).strip("\n")
    parts = [HEADER, header, *bodies] if header else [HEADER, *bodies]
    return "\n\n\n".join(parts) + "\n"


async def formatted(session: Session, text: str, name: str) -> tuple[str, str]:
    """The text as `ruff format` (the image's tools venv) leaves it, and a note when it could not."""
    if not (await session.raw(has_tool(RUFF))).ok:
        return text, f"not formatted: the sandbox image has no ruff at {RUFF}"
    path = f"{SCRATCH}/out/{name}"
    await session.raw(write_file(path, text))
    done = await session.run(f"{RUFF} format --no-cache --quiet {shlex.quote(path)}", f"ruff format {name}")
    if not done.ok:
        return text, f"not formatted: ruff refused it ({done.output.strip()[-200:]})"
    read = await session.raw(f"cat {shlex.quote(path)}")
    return (read.output, "") if read.ok else (text, "not formatted: could not read ruff's output back")
