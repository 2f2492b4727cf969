"""`/steward tests [paths]`: start a tests run, for the paths named or those the workflow picks."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "tests",
    usage="tests [paths]",
    permission="write",
    floor="write",
    workflow="tests",
    summary="plans and proposes tests, for the files named or those the pull request changes",
    examples=("/steward tests", "/steward tests src/parser.py"),
    handler="jobs.commands.tests:tests",
)
