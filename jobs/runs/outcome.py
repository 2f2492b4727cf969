"""The one result comment of a run: why it stopped, said once on the issue and edited rather than repeated."""

from __future__ import annotations

from app.github.comments import upsert_comment
from app.github.protocol import GitHubClient, RepoId


def result_marker(run_id: str) -> str:
    return f"<!-- steward:run-result {run_id} -->"


async def tell(gh: GitHubClient, repo: RepoId, number: int, run_id: str, text: str, *, bot: str) -> None:
    """One result comment per run, edited rather than repeated."""
    await upsert_comment(gh, repo, number, result_marker(run_id), text, author=bot)
