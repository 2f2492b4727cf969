"""`steward sandbox run` streams output, exits with the command's code and names the limit that struck."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401

pytestmark = pytest.mark.docker


def steward(*args: str, image: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "STEWARD_SANDBOX_IMAGE": image}
    cli = [sys.executable, "-c", "from app.cli import main; main()"]
    return subprocess.run([*cli, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_run_copies_the_repo_and_exits_with_the_command_code(sandbox_image: str, tmp_path: Path) -> None:  # noqa: F811
    script = "import sys\nopen('made.txt', 'w').write('x')\nprint('hello from the copy')\nsys.exit(5)\n"
    (tmp_path / "hello.py").write_text(script)
    done = steward(
        "sandbox", "run", "--repo", str(tmp_path), "--", "python3", "hello.py", image=sandbox_image
    )
    assert done.returncode == 5, done.stderr
    assert done.stdout == "hello from the copy\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello.py"]  # it wrote to the copy only


def test_run_names_the_limit(sandbox_image: str, tmp_path: Path) -> None:  # noqa: F811
    done = steward(
        "sandbox", "run", "--repo", str(tmp_path), "--timeout", "1",
        "--", "sh", "-c", "echo started; sleep 60",
        image=sandbox_image,
    )  # fmt: skip
    assert done.returncode == 137
    assert done.stdout == "started\n"
    assert "still running after 1 seconds" in done.stderr


def test_run_rejects_a_bad_limit_clearly(sandbox_image: str, tmp_path: Path) -> None:  # noqa: F811
    done = steward(
        "sandbox", "run", "--repo", str(tmp_path), "--memory", "lots", "--", "true", image=sandbox_image
    )
    assert done.returncode == 2
    assert "not a size" in done.stderr


WRITE_500M = "dd if=/dev/zero of=big bs=1M count=500 2>/dev/null"


def test_run_stops_a_writer_at_the_disk_quota(sandbox_image: str, tmp_path: Path) -> None:  # noqa: F811
    done = steward(
        "sandbox", "run", "--repo", str(tmp_path), "--disk", "32m", "--timeout", "30",
        "--", "sh", "-c", f"{WRITE_500M}; grep ' /workspace ' /proc/self/mountinfo",
        image=sandbox_image,
    )  # fmt: skip
    assert "ran out of disk space" in done.stderr and "32 MiB" in done.stderr
    assert str(tmp_path) not in done.stdout and "steward-sandbox-" not in done.stdout
