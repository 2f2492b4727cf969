"""Which workflows run in shadow here, and the client a shadow run talks to GitHub through."""

from __future__ import annotations

from typing import Any

from app.config.model import RepoConfig, WorkflowConfig
from app.github.client import GitHubKitClient
from jobs.ledger import Ledger, RunView
from jobs.shadow.client import ShadowClient, ShadowTarget, shadowed

SHADOW = "shadow"
NORMAL = "normal"


def mode_of(config: RepoConfig, workflow: str) -> str:
    """The workflow's `mode` in this configuration (normal for a name with no section)."""
    section = getattr(config.workflows, workflow, None)
    return section.mode if isinstance(section, WorkflowConfig) else NORMAL


def in_shadow(config: RepoConfig, workflow: str) -> bool:
    return mode_of(config, workflow) == SHADOW


def read_only(permissions: dict[str, str]) -> dict[str, str]:
    """The same permissions with every write lowered to read: the token a shadow run's work phase gets, so
    GitHub itself would refuse a write made with it."""
    return {name: "read" for name in permissions} | {"metadata": "read"}


def run_client(
    ctx: dict[str, Any], gh: GitHubKitClient, repo: str, number: int, workflow: str, run_id: str
) -> ShadowClient:
    """The run's client with its writes recorded under the run's id."""
    bot = ctx["settings"].bot_login
    return shadowed(gh, ctx["sessions"], ShadowTarget(repo, number, workflow, run_id), bot)


async def shadow_if_needed(
    ctx: dict[str, Any], ledger: Ledger, gh: GitHubKitClient, run: RunView, config: RepoConfig | None = None
) -> tuple[RunView, GitHubKitClient]:
    """The run and the client it must use: a shadow run (or one whose workflow went shadow in `config` since
    it was made, which then stays shadow) gets the recording client."""
    if run.mode != SHADOW and config is not None and in_shadow(config, run.workflow):
        run = await ledger.update_run(run.id, mode=SHADOW)
    if run.mode == SHADOW and not isinstance(gh, ShadowClient):
        gh = run_client(ctx, gh, run.repo, run.number, run.workflow, run.id)
    return run, gh
