"""The setup phase: which install step a run takes, shown in its plan, and run in the sandbox before the work.

The install step alone may reach the network, and only the egress allowlist, through the proxy.
It installs into the sandbox user's site-packages (`pip --user`, in the home tmpfs), so the image's pytest and
coverage stay visible beside the project's dependencies; every later command sees them. (A venv with
--system-site-packages does not work with Debian's pip, which installs into /usr/local from there.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config.model import RepoConfig
from app.settings import DEFAULT_CACHE_MAX_BYTES
from jobs import failpoints
from jobs.ledger import Ledger, egress
from jobs.ledger.egress import EgressRecord
from jobs.ledger.recording import recorded
from jobs.plan import SetupStep
from jobs.runs.workflow import Workflow
from policies.model import Policy
from sandbox import caches, hostfs
from sandbox.base import CommandResult, SandboxError
from sandbox.docker_sandbox import DockerSandbox
from sandbox.image import SANDBOX_HOME
from sandbox.transfer import Transfer

USER_BASE = f"{SANDBOX_HOME}/.local"
SITE_PACKAGES = f"{USER_BASE}/lib/python3.11/site-packages"
"""Where the setup phase installs the project's dependencies (the tests workflow puts it on its path)."""
CACHE_MOUNT = "/var/cache/steward"
"""Where the per-repository download cache (pip's and uv's) is mounted in the sandbox."""
ENV = {
    "PATH": f"{USER_BASE}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "PYTHONUSERBASE": USER_BASE,
    "PIP_USER": "1",
    "PIP_BREAK_SYSTEM_PACKAGES": "1",  # a user install in a throwaway sandbox: Debian's marker does not apply
    "PIP_CACHE_DIR": f"{CACHE_MOUNT}/pip",
    "UV_CACHE_DIR": f"{CACHE_MOUNT}/uv",
}
SOURCE_COPY = "/tmp/steward-src"  # noqa: S108 (the sandbox's own tmpfs)
COPY_SOURCE = (
    f"mkdir -p {SOURCE_COPY} && tar -C /workspace --exclude=./.git -cf - . | tar -C {SOURCE_COPY} -xf -"
)
"""The project is installed from a copy: its own code is imported from the workspace, its dependencies and
metadata come from the install."""
TEST_EXTRAS = ("test", "tests", "testing", "dev")
DEPENDENCY_FILES = ("uv.lock", "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt")
MAX_REQUIREMENTS = 5
READ_BYTES = 1024 * 1024
TAIL_CHARS = 2000
"""The most of a failed install's output quoted in the run's reason."""


def _read(workspace: Path, relative: str) -> str | None:
    try:
        return hostfs.read_bytes(workspace, relative, READ_BYTES).decode("utf-8", "replace")
    except (OSError, hostfs.UnsafePath):
        return None


def _extras(pyproject: str | None) -> list[str]:
    if pyproject is None:
        return []
    try:
        optional = tomllib.loads(pyproject).get("project", {}).get("optional-dependencies", {})
    except tomllib.TOMLDecodeError:
        return []
    return [name for name in TEST_EXTRAS if isinstance(optional, dict) and name in optional]


def _requirements(workspace: Path) -> list[str]:
    found = ["requirements.txt", "requirements-dev.txt", "requirements-test.txt"]
    folder = hostfs.lstat(workspace, "requirements")
    if folder is not None and stat.S_ISDIR(folder.st_mode):  # a real folder, never a link
        with contextlib.suppress(OSError):
            names = sorted(os.listdir(workspace / "requirements"))
            found += [f"requirements/{name}" for name in names if name.endswith(".txt")]
    return [path for path in found if _read(workspace, path) is not None][:MAX_REQUIREMENTS]


def detect(workspace: Path) -> tuple[str, str]:
    """A sensible Python install step for a checkout, and why (an empty command: nothing to install)."""
    pyproject = _read(workspace, "pyproject.toml")
    if _read(workspace, "uv.lock") is not None and pyproject is not None:
        export = "uv export --frozen --all-extras --no-emit-project -o /tmp/steward-requirements.txt"
        command = f"pip install uv && {export} && pip install -r /tmp/steward-requirements.txt"
        return command, "detected from uv.lock"
    if pyproject is not None or _read(workspace, "setup.py") is not None or _read(workspace, "setup.cfg"):
        extras = _extras(pyproject)
        target = f".[{','.join(extras)}]" if extras else "."
        source = "pyproject.toml" if pyproject is not None else "setup.py/setup.cfg"
        why = f"detected from {source}" + (f" (extras: {', '.join(extras)})" if extras else "")
        # From a copy, so the build's files (egg-info, build/) never land in the workspace and its diff; the
        # image's setuptools first (no index needed), the package's own build backend otherwise.
        quoted = shlex.quote(SOURCE_COPY + "/" + target)
        install = f"pip install --no-build-isolation {quoted} || pip install {quoted}"
        return f"{COPY_SOURCE} && ({install})", why
    requirements = _requirements(workspace)
    if requirements:
        args = " ".join(f"-r {shlex.quote(path)}" for path in requirements)
        return f"pip install {args}", f"detected from {', '.join(requirements)}"
    return "", "nothing to install was found (no pyproject.toml, setup.py, uv.lock or requirements file)"


def cache_key(workspace: Path) -> str:
    """The digest of the dependency files: the same lockfile or requirements reuse the same cache."""
    digest = hashlib.sha256()
    for name in (*DEPENDENCY_FILES, *_requirements(workspace)):
        text = _read(workspace, name)
        if text is not None:
            digest.update(f"{name}\0{text}\0".encode())
    return digest.hexdigest()[:16]


def choose(
    workspace: Path, config: RepoConfig, workflow: Workflow, policy: Policy, hosts: list[str]
) -> SetupStep:
    """The run's install step: the workflow's config, else `setup.install`, else detected (Python)."""
    if policy.network == "none":
        return SetupStep(reason=f"the {policy.workflow} policy allows no network, so there is no setup phase")
    own = workflow.install(config)
    configured = own or config.setup.install
    if configured:
        # A workflow's install may itself fall back to setup.install: then that is where it came from.
        shared = own is None or own == config.setup.install
        where = "setup.install" if shared else f"workflows.{workflow.name}.install"
        command, reason = configured, f"from `{where}` in .github/steward.yml"
    else:
        command, reason = detect(workspace)
    if not command:
        return SetupStep(reason=reason)
    return SetupStep(command=command, reason=reason, hosts=list(hosts), cache_key=cache_key(workspace))


class SetupFailedError(SandboxError):
    """The install step failed: the message quotes the tail of its output."""


@dataclass(frozen=True)
class Phase:
    """What the operator decides about setup phases: the firewall rule, and where download caches live."""

    data_dir: Path | None = None
    """Where per-repository caches go (None: no cache)."""
    repo: str = ""
    without_firewall: bool = False
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    """What all repositories' download caches may take together (STEWARD_CACHE_MAX_BYTES)."""
    transfer: Transfer | None = None
    """How the workspace reaches the container (None: STEWARD_SANDBOX_TRANSFER, else auto)."""


def sandbox_options(step: SetupStep | None, phase: Phase) -> dict[str, Any]:
    """The DockerSandbox keywords of a run: a setup network only when there is an install step.

    With a cache, the least recently used caches are pruned to the bound first (it walks them: off the loop).
    """
    options: dict[str, Any] = {"env": ENV, "transfer_mode": phase.transfer}
    if step is None or not step.command:
        return options | {"network": "none"}
    options |= {
        "network": "setup",
        "allowlist": step.hosts,
        "egress_without_firewall": phase.without_firewall,
    }
    if phase.data_dir is not None and step.cache_key:
        mounted = caches.cache_dir(phase.data_dir, phase.repo, step.cache_key)  # used now: not pruned
        caches.prune(phase.data_dir, phase.cache_max_bytes)
        options["cache"] = (mounted, CACHE_MOUNT)
    return options


async def run_setup(sandbox: DockerSandbox, step: SetupStep, ledger: Ledger, run_id: str) -> CommandResult:
    """Run the install step with the allowlisted network, record it and the hosts, then cut the network."""
    await failpoints.hit("setup")
    runner = recorded(lambda argv: sandbox.run(argv), ledger, run_id, "setup")
    result = await runner(["sh", "-c", step.command])
    await sandbox.enter_work_phase()
    traffic = sandbox.proxy_traffic
    record = EgressRecord.of(sandbox.proxy_reached, sandbox.proxy_refusals, traffic.sent, traffic.received)
    await ledger.record_step(run_id, egress.NAME, record.summary(), 0, record.text().encode())
    if not result.ok:
        tail = result.output[-TAIL_CHARS:].strip() or "no output"
        why = result.explanation or f"exit {result.exit_code}"
        raise SetupFailedError(f"the setup phase's install step `{step.command}` failed ({why}):\n{tail}")
    return result
