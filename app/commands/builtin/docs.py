"""`/steward docs [instructions]`: start a docs run."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "docs",
    usage="docs [instructions]",
    permission="write",
    floor="write",
    workflow="docs",
    summary="plans and proposes a documentation update",
    examples=("/steward docs", "/steward docs mention the new --json flag"),
    handler="jobs.commands.docs:docs",
)
