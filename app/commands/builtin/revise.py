"""`/steward revise [instructions]`: revise a Steward pull request after its review."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "revise",
    usage="revise [instructions]",
    permission="write",
    floor="write",
    where="a Steward PR",
    summary=(
        "a new run on the PR's own branch, reading its review comments as data (needs the workflow's "
        "approval level)"
    ),
    examples=("/steward revise", "/steward revise keep the changelog entry to one line"),
    handler="jobs.commands.revise:revise",
)
