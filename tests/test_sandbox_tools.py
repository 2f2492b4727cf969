"""The tools venv of the image: pinned with hashes, versioned with the image, runnable offline."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import docker
import pytest

from app.settings import Settings
from sandbox import images, tools
from sandbox.docker_sandbox import DockerSandbox
from sandbox.image import SANDBOX_UID, content_digest
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401

pytestmark = [pytest.mark.anyio]
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)


def test_the_image_tag_changes_whenever_what_the_image_holds_changes() -> None:
    assert content_digest() == images.CONTENT_DIGEST, (
        "the image content changed (Dockerfile, packages or sandbox/tools.txt): bump IMAGE_VERSION in "
        f"sandbox/images.py and set CONTENT_DIGEST = {content_digest()!r}"
    )
    assert Settings().sandbox_image == images.DEFAULT_IMAGE == f"steward-sandbox:{images.IMAGE_VERSION}"


def test_every_tool_is_pinned_with_its_hashes_and_matches_what_is_asked_for() -> None:
    locked = tools.REQUIREMENTS.read_text()
    blocks = [block for block in re.split(r"\n(?=\S)", locked) if not block.startswith("#")]
    assert blocks and all("--hash=sha256:" in block for block in blocks), "make tools-lock writes the hashes"
    pins = dict(_PIN.findall(locked))
    asked = dict(_PIN.findall((tools.REQUIREMENTS.parent / "tools.in").read_text()))
    assert asked == {"pynguin": "0.48.0", "ruff": pins["ruff"]} and pins["pynguin"] == "0.48.0"


def test_the_wheels_are_chosen_for_the_images_python_not_the_hosts(tmp_path: Path) -> None:
    argv = tools.pip_download_argv(["pip"], tmp_path)
    assert argv[argv.index("--python-version") + 1] == tools.IMAGE_PYTHON == "3.11"
    assert "--require-hashes" in argv and "--only-binary=:all:" in argv and "--no-deps" in argv


@pytest.mark.docker
async def test_pynguin_and_ruff_run_as_the_sandbox_user_with_no_network(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    workspace = sandbox_dir(tmp_path / "ws")
    (workspace / "messy.py").write_text("x=[1,2 ,3]\n")
    os.chown(workspace / "messy.py", SANDBOX_UID, SANDBOX_UID)
    limits = Limits(memory="512m", cpus=1.0, pids=128, command_timeout=40, run_timeout=55)
    run_id = f"test-tools-{uuid.uuid4().hex[:8]}"
    async with DockerSandbox(
        workspace, limits, run_id=run_id, image=sandbox_image, client=docker_client
    ) as sb:
        who = await sb.run("id -u; cat /sys/class/net/*/operstate 2>/dev/null | sort -u | tr '\\n' ' '")
        assert who.ok and who.output.split()[0] == "1000", who.output
        assert "up" not in who.output.split()[1:], f"the work phase must have no network: {who.output}"
        ruff = await sb.run([tools.RUFF, "format", "messy.py"])
        assert ruff.ok, ruff.output
        refused = await sb.run([tools.PYNGUIN, "--help"])
        assert not refused.ok and "PYNGUIN_DANGER_AWARE" in refused.output
        helped = await sb.run(f"PYNGUIN_DANGER_AWARE=1 {tools.PYNGUIN} --help")
        assert helped.ok and "--project-path" in helped.output, helped.output[-2000:]
        tamper = await sb.run(f"touch {tools.TOOLS_VENV}/bin/ruff || echo refused")
        assert "refused" in tamper.output, "the tools venv must not be writable by the code under test"
    assert (workspace / "messy.py").read_text() == "x = [1, 2, 3]\n"


@pytest.mark.parametrize("path", [tools.PYNGUIN, tools.RUFF])
def test_the_tool_paths_live_in_the_tools_venv(path: str) -> None:
    assert path.startswith(f"{tools.TOOLS_VENV}/bin/")
