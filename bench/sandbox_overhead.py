"""Sandbox overhead: create -> first command's exit for `true` vs raw `docker run --rm`, a clone/run/diff
cycle, and what the kill after each command adds (none left behind, and one background process left).

Run from the repository root: uv run python bench/sandbox_overhead.py [--rounds 7] [--files 1000] [--commands 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path; the project root goes there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import anyio  # noqa: E402
import docker  # noqa: E402

from sandbox import git as hostgit  # noqa: E402
from sandbox import quiesce  # noqa: E402
from sandbox.docker_sandbox import DockerSandbox  # noqa: E402
from sandbox.git import give_to_sandbox  # noqa: E402
from sandbox.images import DEFAULT_IMAGE  # noqa: E402
from sandbox.limits import Limits  # noqa: E402

IMAGE = os.environ.get("STEWARD_SANDBOX_IMAGE", DEFAULT_IMAGE)
LIMITS = Limits(memory="512m", cpus=1, pids=128, command_timeout=60)


async def ours(client: docker.DockerClient, workspace: Path) -> tuple[float, float]:
    """Seconds to the first exit, and to the end of destroy."""
    start = time.perf_counter()
    sandbox = DockerSandbox(
        workspace, LIMITS, run_id=f"bench-{uuid.uuid4().hex[:8]}", image=IMAGE, client=client
    )
    async with sandbox:
        result = await sandbox.run(["true"])
        first = time.perf_counter() - start
    assert result.exit_code == 0, result
    return first, time.perf_counter() - start


def raw() -> float:
    start = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", "--network", "none", IMAGE, "true"], check=True)
    return time.perf_counter() - start


def make_repo(root: Path, files: int) -> tuple[Path, str]:
    seed, bare = root / "seed", root / "remote.git"
    for i in range(files):
        path = seed / f"pkg{i % 20}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Module {i}."""\n\n\ndef f{i}(x):\n    return x + {i}\n')
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@e"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(seed)], check=True)
    subprocess.run([*git, "-C", str(seed), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(seed), "commit", "-q", "-m", "seed"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    head = subprocess.run(
        ["git", "-C", str(seed), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    return bare, head.stdout.strip()


async def cycle(client: docker.DockerClient, bare: Path, commit: str, root: Path) -> dict[str, float]:
    marks: dict[str, float] = {}
    t = time.perf_counter()
    ws = await hostgit.clone(bare.as_uri(), commit, root=root, branch="steward/bench/1", ref="main")
    marks["clone"] = time.perf_counter() - t
    t = time.perf_counter()
    async with DockerSandbox(
        ws.work_tree, LIMITS, run_id=f"bench-cycle-{uuid.uuid4().hex[:8]}", image=IMAGE, client=client
    ) as sandbox:
        edit = "for f in pkg0/mod*.py; do echo '# touched' >> $f; done; python3 -m compileall -q . >/dev/null"
        result = await sandbox.run(edit)
        assert result.exit_code == 0, result
    marks["sandbox (start, edit 50 files + compileall 1000, destroy)"] = time.perf_counter() - t
    t = time.perf_counter()
    found = await hostgit.changes(ws)
    marks["diff"] = time.perf_counter() - t
    assert len(found) == 50, len(found)  # __pycache__ is new too: shows up only if not ignored
    hostgit.remove(ws)
    return marks


async def per_command(client: docker.DockerClient, workspace: Path, commands: int) -> None:
    """Median ms of one command with and without the kill after it, and of the kill itself."""
    real_quiet = quiesce.quiet
    timings: dict[str, list[float]] = {}

    def timed_quiet(*args: object, **kwargs: bool) -> None:
        t = time.perf_counter()
        real_quiet(*args, **kwargs)  # type: ignore[arg-type]
        timings.setdefault(label, []).append((time.perf_counter() - t) * 1000)

    label = ""
    sandbox = DockerSandbox(
        workspace, LIMITS, run_id=f"bench-cmd-{uuid.uuid4().hex[:8]}", image=IMAGE, client=client
    )
    async with sandbox:
        for name, cmd, kill in (
            ("run(true), no kill", ["true"], False),
            ("run(true), kill", ["true"], True),
            ("run(background sleep), kill", ["sh", "-c", "nohup sleep 60 >/dev/null 2>&1 &"], True),
        ):
            label = name
            quiesce.quiet = timed_quiet if kill else (lambda *a, **k: None)  # type: ignore[assignment]
            runs = []
            for _ in range(commands):
                t = time.perf_counter()
                await sandbox.run(cmd)
                runs.append((time.perf_counter() - t) * 1000)
            kills = timings.get(name, [0.0])
            print(f"  {name}: command median {statistics.median(runs):.1f} ms, "
                  f"kill median {statistics.median(kills):.2f} ms (max {max(kills):.2f})")  # fmt: skip
        assert sandbox.container_id is not None
        remote = []
        for _ in range(commands):
            t = time.perf_counter()
            assert quiesce.kill_strays_by_exec(client, sandbox.container_id)
            remote.append((time.perf_counter() - t) * 1000)
        print(
            f"  the remote-daemon way (an exec that kills -1 and looks): median {statistics.median(remote):.1f} ms"
        )
    quiesce.quiet = real_quiet  # type: ignore[assignment]


async def main(rounds: int, files: int, commands: int) -> None:
    client = docker.from_env(timeout=60)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        give_to_sandbox(workspace)
        raw()  # warm the image's layers and the daemon
        await ours(client, workspace)
        firsts, fulls, raws = [], [], []
        for _ in range(rounds):
            first, full = await ours(client, workspace)
            firsts.append(first)
            fulls.append(full)
            raws.append(raw())
        m_first, m_full, m_raw = (statistics.median(x) for x in (firsts, fulls, raws))
        print(f"rounds: {rounds}, image {IMAGE}")
        print(f"raw `docker run --rm IMAGE true`:      median {m_raw:.3f} s")
        print(f"DockerSandbox create -> first exit:   median {m_first:.3f} s  (ratio {m_first / m_raw:.2f}x)")
        print(
            f"DockerSandbox create -> exit -> destroy: median {m_full:.3f} s  (ratio {m_full / m_raw:.2f}x)"
        )
        print(f"per command ({commands} commands each, one container):")
        await per_command(client, workspace, commands)
        bare, commit = make_repo(Path(tmp), files)
        marks = await cycle(client, bare, commit, Path(tmp) / "run")
        print(f"clone/run/diff cycle on {files} files:")
        for name, seconds in marks.items():
            print(f"  {name}: {seconds:.3f} s")
        print(f"  total: {sum(marks.values()):.3f} s")
    client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=50)
    args = parser.parse_args()
    anyio.run(main, args.rounds, args.files, args.commands)
