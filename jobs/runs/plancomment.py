"""The one plan comment of a run: found by its run marker, posted once, then edited in place."""

from __future__ import annotations

from app.github.comments import bounded_body
from app.github.protocol import GitHubClient, IssueComment, RepoId
from jobs.plan import Plan, parse_ticked, render_plan


def run_marker(run_id: str) -> str:
    """The hidden line render_plan writes, which names the run a plan comment belongs to."""
    return f"<!-- steward:plan-run {run_id} -->"


async def find_plan_comment(
    gh: GitHubClient, repo: RepoId, number: int, run_id: str, bot: str
) -> IssueComment | None:
    """Steward's plan comment of this run (a comment by anyone else never counts)."""
    marker = run_marker(run_id)
    for comment in await gh.list_comments(repo, number):
        if comment.author.lower() == bot.lower() and marker in comment.body:
            return comment
    return None


async def show_plan(
    gh: GitHubClient,
    repo: RepoId,
    number: int,
    run_id: str,
    plan: Plan,
    state: str,
    *,
    bot: str,
    status: str = "",
) -> int:
    """Post the plan comment, or edit the one there (no edit when the text is the same); its id."""
    body = bounded_body(render_plan(plan, run_id=run_id, state=state.replace("_", " "), status=status))
    existing = await find_plan_comment(gh, repo, number, run_id, bot)
    if existing is None:
        return (await gh.create_comment(repo, number, body)).id
    if existing.body.strip() != body.strip():
        await gh.update_comment(repo, existing.id, body)
    return existing.id


async def ticked_now(gh: GitHubClient, repo: RepoId, number: int, run_id: str, bot: str) -> set[str] | None:
    """The step ids ticked in the plan comment as it stands; None when the comment is gone."""
    comment = await find_plan_comment(gh, repo, number, run_id, bot)
    return parse_ticked(comment.body) if comment is not None else None
