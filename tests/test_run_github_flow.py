"""The docs run end to end on GitHub: real arq worker on real Redis, real SQLite ledger, real Docker sandbox,
real git with a local bare repository as the remote; GitHub's HTTP mocked with respx.
"""

from __future__ import annotations

import pytest
import respx

from app.settings import Settings
from jobs.ledger import ApprovalDecision, RunState
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    REVIEWER,
    FakeRunGitHub,
    Remote,
    git,
    review_event,
    runs,
    say,
    statuses_for,
    trace_of,
)
from tests.worker_support import enqueue, run_burst

pytestmark = [pytest.mark.anyio, pytest.mark.docker]


async def test_docs_plan_approve_sandbox_push_pr_and_review_gate(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    base = remote.sha()
    await say(settings, "/steward docs mention the --shout flag", MAINTAINER, 1001)
    (plan,) = github.plan_comments()
    assert "- [x] Update CHANGELOG.md: add `#7` under Unreleased → Added" in plan["body"]
    assert "state **awaiting approval**" in plan["body"]
    assert "contents: write, issues: write, pull_requests: write, statuses: write" in plan["body"]
    assert "mention the --shout flag" in plan["body"]  # recorded, not acted on
    (run,) = await runs(settings)
    assert run.state == RunState.AWAITING_APPROVAL and run.instructions == "mention the --shout flag"
    assert remote.sha(BRANCH) is None

    github.untick("docs/usage.md")
    await say(settings, "/steward approve", APPROVER, 1002)

    head = remote.sha(BRANCH)
    assert head is not None, "the branch was pushed to the remote"
    assert base is not None and sorted(remote.files_changed(base, head)) == ["CHANGELOG.md", "README.md"]
    assert f"Steward-Run: {run.id}" in git(remote.bare, "log", "-1", "--format=%B", head)
    readme = git(remote.bare, "show", f"{head}:README.md")
    assert "--shout        greet in capitals" in readme  # the real --help, run in the sandbox
    (pull,) = github.pulls
    assert pull["head"]["ref"] == BRANCH and pull["base"]["ref"] == "main"
    assert f"steward runs show {run.id}" in pull["body"]
    assert "dropped at approval: Refresh the generated block in docs/usage.md" in pull["body"]
    assert "CHANGELOG.md | +4 -0" in pull["body"]
    assert statuses_for(github, head) == ["pending"]
    (done,) = await runs(settings)
    assert done.state == RunState.PROPOSED and done.pr_number == pull["number"]
    assert done.sandbox_digest and done.sandbox_digest.startswith("sha256:") and done.config_digest
    trace = await trace_of(settings, run.id)
    (approval,) = trace.approvals
    assert approval.decision == ApprovalDecision.ACCEPTED and len(approval.steps_dropped) == 1
    (proposal,) = trace.proposals  # the diff itself is recorded, as pushed (the dashboard shows it)
    assert proposal.diff.strip() == git(remote.bare, "diff", "--no-color", base, head)
    assert "diff --git a/CHANGELOG.md b/CHANGELOG.md" in proposal.diff
    assert [step.name for step in trace.steps if step.name != "exec"] == ["plan", "clone", "commit", "result"]
    assert all(step.exit_code == 0 and step.duration is not None for step in trace.steps)
    execs = [step for step in trace.steps if step.name == "exec"]
    assert [step.command for step in execs] == ["python3 -m sample --help"]
    assert execs[0].exit_code == 0 and execs[0].output_digest
    assert len(github.plan_comments()) == 1 and "proposed in #" in github.plan_comments()[0]["body"]

    # The requester's own approving review does not count by default; a writer's does.
    await enqueue(settings, "review_submitted", "review:1", delivery_id="r1",
                  event=review_event(MAINTAINER, "approved", pull["number"], head))  # fmt: skip
    await run_burst(settings)
    assert statuses_for(github, head) == ["pending"]
    await enqueue(settings, "review_submitted", "review:2", delivery_id="r2",
                  event=review_event(REVIEWER, "approved", pull["number"], head))  # fmt: skip
    await run_burst(settings)
    assert statuses_for(github, head) == ["pending", "success"]


async def test_without_required_approval_the_plan_runs_at_once(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "workflows:\n  docs:\n    approval:\n      required: false\n"
    await say(settings, "/steward docs", MAINTAINER, 1101)
    (run,) = await runs(settings)
    assert run.state == RunState.PROPOSED
    (plan,) = github.plan_comments()
    assert "/steward approve" not in plan["body"] and "proposed in #" in plan["body"]
    head = remote.sha(BRANCH)
    assert head is not None and len(github.pulls) == 1 and statuses_for(github, head) == ["pending"]
    assert not (await trace_of(settings, run.id)).approvals
