"""The image's tools venv: Pynguin and ruff, pinned with hashes, for a work phase that has no network.

The venv is root-owned and the sandbox runs it read-only as uid 1000, so a repository under test can neither
change the tools nor see its own dependencies collide with theirs. Pynguin executes the code it tests, which
is why it runs only in the sandbox, and it refuses to start unless `PYNGUIN_DANGER_AWARE` is set: the caller
sets it when it invokes Pynguin, the image does not.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sandbox.base import SandboxError

TOOLS_VENV = "/opt/steward-tools"
PYNGUIN = f"{TOOLS_VENV}/bin/pynguin"
RUFF = f"{TOOLS_VENV}/bin/ruff"
REQUIREMENTS = Path(__file__).parent / "tools.txt"
"""Every distribution of the venv, pinned with its hashes (`make tools-lock` writes it from tools.in)."""
IMAGE_PYTHON = "3.11"
"""bookworm's python3: the wheels are chosen for it, whatever Python the building host runs."""
_GLIBC_MINOR = 36  # bookworm's glibc 2.36: every manylinux wheel up to it runs in the image
_CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}


def host_pip() -> list[str]:
    """A host interpreter that has pip (uv's venvs have none), so the host's pip settings and proxy apply."""
    for python in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if python and subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [python, "-m", "pip"]
    raise SandboxError("the tools venv is fetched with the host's pip: apt-get install -y python3-pip")


def pip_download_argv(pip: list[str], dest: Path, requirements: Path = REQUIREMENTS) -> list[str]:
    """Fetch wheels for the image's Python and machine, whatever Python and pip the host has."""
    machine = platform.machine()
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(_GLIBC_MINOR, 4, -1)]
    platforms += [f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    py = IMAGE_PYTHON.replace(".", "")
    argv = [*pip, "download", "--quiet", "--no-deps", "--require-hashes", "--only-binary=:all:"]
    argv += ["--python-version", IMAGE_PYTHON, "--implementation", "cp"]
    argv += ["--abi", f"cp{py}", "--abi", "abi3", "--abi", "none"]
    for name in platforms:
        argv += ["--platform", name]
    return [*argv, "--dest", str(dest), "--requirement", str(requirements)]


def install_into_rootfs(rootfs: Path, progress: Callable[[str], None]) -> None:
    """Download the pinned wheels on the host, then build the venv inside the root filesystem offline."""
    pip = host_pip()
    staging = rootfs / "tmp" / "steward-tools"
    staging.mkdir(parents=True)
    shutil.copyfile(REQUIREMENTS, staging / "tools.txt")
    progress(f"downloading the pinned wheels of {REQUIREMENTS.name} for Python {IMAGE_PYTHON}")
    _run(pip_download_argv(pip, staging / "wheels", staging / "tools.txt"), "pip download")
    inside = "/tmp/steward-tools"  # noqa: S108 (inside the root filesystem being built, removed below)
    progress(f"creating {TOOLS_VENV} in the root filesystem, offline, checking every hash")
    _run(["chroot", str(rootfs), "python3", "-m", "venv", TOOLS_VENV], "python3 -m venv", _CHROOT_ENV)
    install = [f"{TOOLS_VENV}/bin/pip", "install", "--quiet", "--no-cache-dir", "--no-index", "--no-deps"]
    install += [
        "--require-hashes",
        "--find-links",
        f"{inside}/wheels",
        "--requirement",
        f"{inside}/tools.txt",
    ]
    _run(["chroot", str(rootfs), *install], "pip install", _CHROOT_ENV)
    shutil.rmtree(staging)


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env or dict(os.environ))
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-2000:]
        raise SandboxError(f"{what} failed while building the tools venv (exit {done.returncode}): {tail}")
