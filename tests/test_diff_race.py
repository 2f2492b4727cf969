"""The bind transfer's diff reading against a sandbox that keeps swapping links into its work tree.

A process the sandbox leaves running exchanges `docs` with a link to a host directory (a canary outside the
workspace) and `docs/guide.md` with a link to the canary's file, over and over. Reading the diff must never
bring the canary's bytes into it, and each read is the changes or a clear SandboxError, never a crash.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from sandbox import git as hostgit
from sandbox import quiesce
from sandbox.base import SandboxError
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.timeout(240)]

ROUNDS = 100
SECRET = "the host's canary"
LIMITS = Limits(memory="256m", cpus=1, pids=128, command_timeout=20, run_timeout=600)
SWAPPER = """import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
canary = sys.argv[1]
os.chdir("/workspace")
for name, target in {"docs-evil": canary, "docs/.evil": canary + "/guide.md"}.items():
    os.symlink(target, name)
pairs = [(b"docs", b"docs-evil"), (b"docs/guide.md", b"docs/.evil")]
while True:
    for a, b in pairs:
        libc.renameat2(-100, a, -100, b, 2)  # AT_FDCWD, RENAME_EXCHANGE
"""


def _sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


async def _workspace(tmp_path: Path) -> hostgit.Workspace:
    seed, bare = tmp_path / "seed", tmp_path / "remote.git"
    (seed / "docs").mkdir(parents=True)
    (seed / "docs/guide.md").write_text("# Guide\n")
    _sh("git", "init", "-q", "-b", "main", str(seed))
    _sh("git", "-C", str(seed), "add", "-A")
    _sh("git", "-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init")
    _sh("git", "clone", "-q", "--bare", str(seed), str(bare))
    commit = _sh("git", "-C", str(seed), "rev-parse", "HEAD").strip()
    return await hostgit.clone(
        bare.as_uri(), commit, root=tmp_path / "run", branch="steward/docs/1", ref="main"
    )


def _canary(tmp_path: Path) -> Path:
    canary = tmp_path / "canary"  # the host's own, outside the workspace; only the host could follow a link
    canary.mkdir()
    (canary / "guide.md").write_text(f"{SECRET}\n")
    return canary


async def _read(ws: hostgit.Workspace) -> str:
    """One diff read as the run does it: the changes, or the SandboxError's message (anything else raises)."""
    try:
        found = await hostgit.changes(ws)
    except SandboxError as exc:
        outcome = f"refused: {exc}"
    else:
        outcome = "changes: " + ", ".join(f"{c.path} {c.mode} {c.bytes}" for c in found)
    staged = _sh(
        "git", f"--git-dir={ws.git_dir}", "diff", "--cached", "--no-ext-diff", "--no-textconv", "HEAD"
    )
    assert SECRET not in staged, "a host file was read into the diff"
    return outcome


async def _race(tmp_path: Path, image: str, client: docker.DockerClient) -> list[str]:
    ws, canary = await _workspace(tmp_path), _canary(tmp_path)
    run_id = f"test-diffrace-{uuid.uuid4().hex[:8]}"
    outcomes = []
    async with DockerSandbox(ws.work_tree, LIMITS, run_id=run_id, image=image, client=client) as sandbox:
        assert sandbox.transfer == "bind"
        started = await sandbox.run(
            f"echo changed > docs/guide.md && cat > /tmp/swap.py <<'EOF'\n{SWAPPER}EOF\n"
            f"nohup python3 /tmp/swap.py {canary} >/dev/null 2>&1 & sleep 0.5"
        )
        assert started.ok, started.output
        for _ in range(ROUNDS):
            outcomes.append(await _read(ws))
    assert (canary / "guide.md").read_text() == f"{SECRET}\n"
    assert sorted(p.name for p in canary.iterdir()) == ["guide.md"]
    return outcomes


async def test_the_diff_of_a_tree_whose_swapper_died_with_its_command_reads_the_same_each_time(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    """The first guard: the swapper is killed after its command, so every read sees one still tree."""
    outcomes = await _race(tmp_path, sandbox_image, docker_client)
    assert len(set(outcomes)) == 1, set(outcomes)


async def test_a_diff_read_during_the_swaps_is_the_changes_or_a_clear_refusal(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defence in depth: with the kill after each command switched off, the swapper runs through every read;
    a directory swapped for a link between the walk's listing and its opening is refused, not a crash."""
    noop: Callable[..., None] = lambda *args, **kwargs: None  # noqa: E731
    monkeypatch.setattr(quiesce, "quiet", noop)
    outcomes = await _race(tmp_path, sandbox_image, docker_client)
    assert len(set(outcomes)) > 1  # the race was on
    assert all(o.startswith("changes: ") or "refused" in o for o in outcomes)
