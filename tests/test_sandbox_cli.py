"""`steward sandbox run` streams output, exits with the command's code and names the limit that struck."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401

pytestmark = pytest.mark.docker


def steward(*args: str, image: str, **more_env: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "STEWARD_SANDBOX_IMAGE": image, **more_env}
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


def test_a_setup_phase_without_iptables_is_refused_unless_the_operator_allows_it(
    sandbox_image: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # PATH holds no iptables (it lives in /usr/sbin), so the setup network cannot be firewalled.
    args = (
        "sandbox",
        "run",
        "--repo",
        str(tmp_path),
        "--network",
        "setup",
        "--",
        "sh",
        "-c",
        "echo $HTTP_PROXY",
    )
    refused = steward(*args, image=sandbox_image)
    allowed = steward(*args, image=sandbox_image, STEWARD_EGRESS_WITHOUT_FIREWALL="true")
    assert refused.returncode == 125, refused.stderr
    assert refused.stdout == ""
    assert "could not be put in place (" in refused.stderr, refused.stderr
    assert "STEWARD_EGRESS_WITHOUT_FIREWALL=true" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith("http://") and allowed.stdout.strip().rsplit(":", 1)[1].isdigit()
