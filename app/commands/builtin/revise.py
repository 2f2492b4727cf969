"""`/steward revise [instructions]`: revise a Steward pull request after its review."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "revise",
    usage="revise [instructions]",
    permission="write",
    floor="write",
    where="a Steward PR, its reviews and line comments",
    summary=(
        "revises a Steward pull request: a new commit on its branch from its review comments (also needs "
        "the workflow's approval level, maintain by default)"
    ),
    examples=("/steward revise", "/steward revise keep the changelog entry to one line"),
    handler="jobs.commands.revise:revise",
    in_reviews=True,
)
