"""Which sandbox image a run may use: a repository's config may pick only the images the operator allowlists.

Any image on the Docker host would otherwise do, and a local image holding a secret file hands that file to
the sandbox, which can copy it into the proposed diff.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.base import SandboxError

IMAGE_VERSION = "2"
"""The sandbox image's own version, bumped whenever what is in it changes (its tag changes with it, so a host
never runs a run against an older image of the same name); independent of Steward's package version."""
DEFAULT_IMAGE = f"steward-sandbox:{IMAGE_VERSION}"
CONTENT_DIGEST = "81952e1c5044fc2e"
"""`sandbox.image.content_digest()` of this version's content; a test fails when they part."""
SETTING = "STEWARD_SANDBOX_IMAGES"
"""The setting that allows more images than the default one."""
_HUB_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/")


class ImageRefusedError(SandboxError):
    """The configuration names an image the operator has not allowed; no sandbox was started."""


def normalize(image: str) -> str:
    """One spelling per image reference: no Docker Hub prefix, `:latest` when no tag or digest is given."""
    ref = image.strip()
    for prefix in _HUB_PREFIXES:
        if ref.startswith(prefix):
            ref = ref.removeprefix(prefix)
            break
    if ref.startswith("library/"):
        ref = ref.removeprefix("library/")
    last = ref.rsplit("/", 1)[-1]
    if "@" not in ref and ":" not in last:
        ref += ":latest"
    return ref


def refusal(image: str, allowed: Sequence[str], where: str = "setup.image") -> str | None:
    """Why `image` may not be used (naming what is allowed and the setting to change), or None."""
    if normalize(image) in {normalize(name) for name in allowed}:
        return None
    names = ", ".join(f"`{name}`" for name in allowed) or "none"
    return (
        f"the sandbox image `{image[:200]}` named in {where} is not allowed on this Steward; "
        f"allowed: {names}. "
        f"Remove {where} to use the default, or ask the operator to add the image to {SETTING} (a JSON list)."
    )


def choose(asked: str | None, default: str, allowed: Sequence[str]) -> str:
    """The image a run uses: the configured one if allowed, the default when none is configured."""
    if asked is None:
        return default
    problem = refusal(asked, allowed)
    if problem is not None:
        raise ImageRefusedError(problem)
    return asked
