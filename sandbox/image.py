"""Build the sandbox image: from the Dockerfile where a registry answers, else from Debian's packages."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import docker
from docker.errors import DockerException, ImageNotFound

from sandbox import tools
from sandbox.base import ImageMissingError, SandboxError

Source = Literal["auto", "rootfs", "dockerfile"]
Progress = Callable[[str], None]

DOCKERFILE_DIR = Path(__file__).parent
REGISTRY_HOST = "registry-1.docker.io"
REGISTRY_PROBE_SECONDS = 3.0
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "python3",
    "python3-venv",
    "python3-pip",
    "python3-pytest",
    "python3-coverage",
    "python3-hypothesis",
    "git",
    "ca-certificates",
)
SANDBOX_UID = 1000
SANDBOX_HOME = "/home/steward"
IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    f"ENV HOME={SANDBOX_HOME}",
    f"USER {SANDBOX_UID}:{SANDBOX_UID}",
    "WORKDIR /workspace",
    "LABEL app=steward",
)


def content_digest() -> str:
    """What the image is made of (both build paths' inputs); `images.CONTENT_DIGEST` records it."""
    parts = [
        (DOCKERFILE_DIR / "Dockerfile").read_bytes(),
        tools.REQUIREMENTS.read_bytes(),
        repr((DEBIAN_SUITE, PACKAGES, SANDBOX_UID, SANDBOX_HOME, IMAGE_CHANGES, tools.TOOLS_VENV)).encode(),
    ]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def ensure_image(client: docker.DockerClient, image: str) -> None:
    """Fail with the command that fixes it, never with a pull attempt."""
    try:
        client.images.get(image)
    except ImageNotFound:
        raise ImageMissingError(
            f"the sandbox image {image} is not on this Docker host; build it with `steward sandbox build`"
        ) from None


def registry_reachable(host: str = REGISTRY_HOST, timeout: float = REGISTRY_PROBE_SECONDS) -> bool:
    """A quick TCP probe, so `auto` never waits on a pull that cannot succeed."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def build_image(tag: str, source: Source = "auto", progress: Progress = print) -> str:
    """Build `tag` and return how it was built ("dockerfile" or "rootfs")."""
    client = docker.from_env(timeout=600)
    try:
        if source == "dockerfile" or (source == "auto" and registry_reachable()):
            try:
                _from_dockerfile(client, tag, progress)
                return "dockerfile"
            except DockerException as exc:
                if source == "dockerfile":
                    raise SandboxError(f"building from sandbox/Dockerfile failed: {exc}") from None
                progress(f"Dockerfile build failed ({exc}); building from Debian's packages instead")
        _from_rootfs(client, tag, progress)
        return "rootfs"
    finally:
        client.close()


def _from_dockerfile(client: docker.DockerClient, tag: str, progress: Progress) -> None:
    progress(f"building {tag} from {DOCKERFILE_DIR / 'Dockerfile'}")
    for chunk in client.api.build(path=str(DOCKERFILE_DIR), tag=tag, rm=True, decode=True):
        if "error" in chunk:
            raise DockerException(str(chunk["error"]).strip())
        line = str(chunk.get("stream", "")).strip()
        if line:
            progress(line)


def _from_rootfs(client: docker.DockerClient, tag: str, progress: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise SandboxError("no registry answers and debootstrap is missing: apt-get install -y debootstrap")
    with tempfile.TemporaryDirectory(prefix="steward-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"[1/5] debootstrap {DEBIAN_SUITE} with {', '.join(PACKAGES)} (about a minute)")
        _stream(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                DEBIAN_SUITE,
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            progress,
        )
        progress(f"[2/5] installing the tools venv {tools.TOOLS_VENV} (Pynguin, ruff)")
        tools.install_into_rootfs(rootfs, progress)
        progress(f"[3/5] adding the sandbox user (uid {SANDBOX_UID}) and trimming caches")
        _add_user(rootfs)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        tarball = Path(tmp) / "rootfs.tar"
        progress("[4/5] packing the root filesystem")
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tarball), "."], check=True)
        repository, _, version = tag.rpartition(":") if ":" in tag else (tag, "", "latest")
        progress(f"[5/5] docker import as {tag}")
        client.api.import_image_from_file(
            str(tarball), repository=repository, tag=version, changes=list(IMAGE_CHANGES)
        )
    progress(f"built {tag}")


def _add_user(rootfs: Path) -> None:
    etc = rootfs / "etc"
    with (etc / "passwd").open("a") as passwd:
        passwd.write(f"steward:x:{SANDBOX_UID}:{SANDBOX_UID}:Steward sandbox:{SANDBOX_HOME}:/bin/sh\n")
    with (etc / "group").open("a") as group:
        group.write(f"steward:x:{SANDBOX_UID}:\n")
    for path in (rootfs / SANDBOX_HOME.lstrip("/"), rootfs / "workspace"):
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, SANDBOX_UID, SANDBOX_UID)


_PER_PACKAGE = ("I: Retrieving", "I: Validating", "I: Extracting", "I: Unpacking", "I: Configuring")


def _stream(argv: list[str], progress: Progress) -> None:
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        repeated = 0
        for line in proc.stdout:
            if line.startswith(_PER_PACKAGE):
                repeated += 1  # hundreds of these: show every twentieth so the build visibly moves
                if repeated % 20:
                    continue
            progress(line.rstrip())
        if proc.wait() != 0:
            raise SandboxError(f"{argv[0]} failed with exit code {proc.returncode}")
