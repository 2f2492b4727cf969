"""The one result comment of a run: why it stopped, said once on the issue and edited rather than repeated."""

from __future__ import annotations

from app.github.protocol import GitHubClient, RepoId


def result_marker(run_id: str) -> str:
    return f"<!-- steward:run-result {run_id} -->"


async def tell(gh: GitHubClient, repo: RepoId, number: int, run_id: str, text: str, *, bot: str) -> None:
    """One result comment per run, edited rather than repeated."""
    marker = result_marker(run_id)
    body = f"{marker}\n{text}"
    for comment in await gh.list_comments(repo, number):
        if comment.author.lower() == bot.lower() and marker in comment.body:
            if comment.body.strip() != body.strip():
                await gh.update_comment(repo, comment.id, body)
            return
    await gh.create_comment(repo, number, body)
