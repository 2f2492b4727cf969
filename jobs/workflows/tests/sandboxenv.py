"""Where things are inside the sandbox, in one place: the tools venv, the setup venv, the scratch."""

from __future__ import annotations

import base64
import shlex
from collections.abc import Sequence

TOOLS_BIN = "/opt/steward-tools/bin"
"""The image's own tools venv (Pynguin, ruff), apart from the project's dependencies."""
PYNGUIN = f"{TOOLS_BIN}/pynguin"
RUFF = f"{TOOLS_BIN}/ruff"
SITE_PACKAGES = "/home/steward/.local/lib/python3.11/site-packages"
"""Where the setup phase (jobs.runs.setup, a `pip --user` install) puts the project's dependencies."""
WORKSPACE = "/workspace"
SCRATCH = "/tmp/steward-tests"  # noqa: S108 (the sandbox's own tmpfs, outside the writable paths)
PYTHON = "python3"
"""Debian's interpreter (pytest and coverage.py); the project's dependencies come from the setup venv."""
TIMED_OUT = 124
"""`timeout`'s exit status when it stopped the command."""


def python_path(roots: Sequence[str]) -> str:
    """The project's source roots, then the setup venv's site-packages (present or not)."""
    paths = [WORKSPACE if root in ("", ".") else f"{WORKSPACE}/{root}" for root in roots]
    return ":".join([*paths, SITE_PACKAGES])


def env_prefix(roots: Sequence[str], **extra: str) -> str:
    """`env ...` that keeps bytecode, caches and coverage data out of the workspace."""
    values = {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": python_path(roots),
        "COVERAGE_FILE": f"{SCRATCH}/coverage.data",
        **extra,
    }
    return "env " + " ".join(f"{key}={shlex.quote(value)}" for key, value in values.items())


def timed(seconds: float, command: str) -> str:
    """The command under coreutils `timeout` (exit 124 when it ran out), killed hard 2 s later."""
    return f"timeout -k 2 {int(seconds)} {command}"


def pytest_args(targets: Sequence[str]) -> str:
    """pytest without its cache (it would write into the workspace) and quiet."""
    return "-m pytest -q -p no:cacheprovider " + " ".join(shlex.quote(t) for t in targets)


def write_file(path: str, text: str) -> str:
    """A command that writes text to a path in the sandbox (its /tmp is not reachable from the host)."""
    data = base64.b64encode(text.encode("utf-8")).decode()
    script = (
        "import base64,os,sys;p=sys.argv[1];os.makedirs(os.path.dirname(p),exist_ok=True);"
        "open(p,'wb').write(base64.b64decode(sys.argv[2]))"
    )
    return f"{PYTHON} -c {shlex.quote(script)} {shlex.quote(path)} {data}"


def has_tool(path: str) -> str:
    """A command that exits 0 when the tool is in the image."""
    return f"test -x {shlex.quote(path)}"
