"""The race of issue 9: a process the block left behind swaps the doc for a link while the host writes it."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from app.config.model import DocsConfig
from app.github.protocol import IssueRecord
from jobs.workflows.docs.engine import CHANGELOG_STEP, apply_docs, plan_docs
from policies.loader import effective_policy, load_policy
from sandbox import git as hostgit
from sandbox import hostfs, quiesce
from sandbox.base import CommandResult
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.timeout(120)]

ROUNDS = 200
ISSUE = IssueRecord(
    number=12, title="Crash when the config is empty", body="", state="closed", is_pull_request=False,
    author="alice", labels=["bug"], html_url="https://github.com/octo/widgets/issues/12",
)  # fmt: skip
CHANGELOG = "# Changelog\n\n## [Unreleased]\n"
LIMITS = Limits(memory="256m", cpus=1, pids=128, command_timeout=20, run_timeout=600)
SWAPPER = """import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
canary = sys.argv[1]
links = {"docs/.evil": canary + "/guide.md", ".evil-cl": canary + "/created.md", "docs-evil": canary}
for name, target in links.items():
    try:
        os.symlink(target, name)
    except OSError:
        pass
pairs = [(b"docs/guide.md", b"docs/.evil"), (b"CHANGELOG.md", b".evil-cl"), (b"docs", b"docs-evil")]
while True:
    for a, b in pairs:
        libc.renameat2(-100, a, -100, b, 2)  # AT_FDCWD, RENAME_EXCHANGE
"""
PAIRS = [("docs", "docs-evil"), ("docs/guide.md", "docs/.evil"), ("CHANGELOG.md", ".evil-cl")]


def _sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def _remote(tmp_path: Path, block: str) -> tuple[Path, str]:
    seed, bare = tmp_path / "seed", tmp_path / "remote.git"
    (seed / "docs").mkdir(parents=True)
    (seed / "CHANGELOG.md").write_text(CHANGELOG)
    (seed / "docs/guide.md").write_text(f"# Guide\n\n<!-- steward:exec {block} -->\n<!-- /steward:exec -->\n")
    _sh("git", "init", "-q", "-b", "main", str(seed))
    _sh("git", "-C", str(seed), "add", "-A")
    _sh("git", "-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init")
    _sh("git", "clone", "-q", "--bare", str(seed), str(bare))
    return bare, _sh("git", "-C", str(seed), "rev-parse", "HEAD").strip()


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    found = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
        found[str(path)] = (info.st_mtime_ns, info.st_ino, data)
    return found


def _repair(work: Path) -> None:
    """Put the swapped pairs back (only ever called once no sandbox process runs)."""
    for a, b in PAIRS:
        if (work / a).is_symlink():
            (work / a).rename(work / "swap.tmp")
            (work / b).rename(work / a)
            (work / "swap.tmp").rename(work / b)


async def _race(tmp_path: Path, image: str, client: docker.DockerClient, *, restart: bool) -> dict[str, int]:
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "guide.md").write_text("canary\n")
    assert canary.stat().st_uid == os.geteuid()  # the host's own, outside the workspace
    start = f"nohup python3 /tmp/swap.py {canary} >/dev/null 2>&1 &"
    if not restart:  # the swapper keeps running from round to round: start it once
        start = f"[ -e /tmp/on ] || {{ touch /tmp/on; {start} }};"
    bare, commit = _remote(tmp_path, f'sh -c "{start} date +%s%N"')
    ws = await hostgit.clone(
        bare.as_uri(), commit, root=tmp_path / "run", branch="steward/docs/12", ref="main"
    )
    config = DocsConfig()
    policy = effective_policy(load_policy("docs"), config)
    plan = plan_docs(ws.work_tree, ISSUE, config, policy, git_dir=ws.git_dir)
    assert len(plan.steps) == 2, plan
    before = _snapshot(canary)
    seen: dict[str, int] = {}
    run_id = f"test-race-{uuid.uuid4().hex[:8]}"
    async with DockerSandbox(ws.work_tree, LIMITS, run_id=run_id, image=image, client=client) as sandbox:

        async def runner(argv: list[str]) -> CommandResult:
            return await sandbox.run(argv)

        setup = await sandbox.run(["sh", "-c", f"cat > /tmp/swap.py <<'EOF'\n{SWAPPER}EOF"])
        assert setup.exit_code == 0, setup.output
        for _ in range(ROUNDS):
            outcome = await apply_docs(ws.work_tree, plan, ISSUE, config, runner, git_dir=ws.git_dir)
            for step in outcome.steps:
                refused = step.status == "failed" and "symbolic link" in step.detail
                assert step.status in ("done", "unchanged") or refused, step  # a clean write or a clear no
                kind = "changelog" if step.step_id == CHANGELOG_STEP else "block"
                seen[f"{kind} {step.status}"] = seen.get(f"{kind} {step.status}", 0) + 1
            if restart:
                _repair(ws.work_tree)
            with contextlib.suppress(hostfs.UnsafePath):  # so that it is written again
                hostfs.write_bytes(ws.work_tree, "CHANGELOG.md", CHANGELOG.encode())
    assert _snapshot(canary) == before, "the host wrote outside the workspace"
    assert not (canary / "created.md").exists()
    return seen


async def test_the_host_never_writes_through_a_swapped_link(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    """Both defences: the swapper dies with its command, and the host opens nothing through a link."""
    seen = await _race(tmp_path, sandbox_image, docker_client, restart=True)
    assert seen.get("block done", 0) + seen.get("block failed", 0) == ROUNDS


async def test_the_file_walk_alone_holds_against_a_live_swapper(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defence in depth: with the kill after each command switched off, the swapper runs throughout."""
    noop: Callable[..., None] = lambda *args, **kwargs: None  # noqa: E731
    monkeypatch.setattr(quiesce, "quiet", noop)
    seen = await _race(tmp_path, sandbox_image, docker_client, restart=False)
    assert seen.get("block failed", 0) + seen.get("changelog failed", 0) > 0  # the race was on
