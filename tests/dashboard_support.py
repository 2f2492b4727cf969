"""Seeding the ledger for the dashboard's tests through the real ledger API, and signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from app.settings import Settings
from jobs.db import make_engine, sessions
from jobs.duplicates.candidates import Suggestion
from jobs.duplicates.record import record_triage
from jobs.duplicates.store import record_feedback
from jobs.duplicates.triage import TriageResult
from jobs.ledger import ApprovalDecision, Ledger, RunState
from jobs.plan import Plan, PlanStep

TOKEN = "operator-token-for-tests-0123456789"
SESSION_SECRET = "session-secret-for-tests-abcdefghij"
CLIENT_SECRET = "oauth-client-secret-for-tests-xyz"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
DIFF = (
    "diff --git a/docs/guide.md b/docs/guide.md\n"
    "index 1111111..2222222 100644\n"
    "--- a/docs/guide.md\n"
    "+++ b/docs/guide.md\n"
    "@@ -1,2 +1,3 @@\n"
    " # Guide\n"
    "-old line\n"
    f"+new line {HOSTILE}\n"
    "+another line\n"
    "diff --git a/CHANGELOG.md b/CHANGELOG.md\n"
    "--- a/CHANGELOG.md\n"
    "+++ b/CHANGELOG.md\n"
    "@@ -1 +1,2 @@\n"
    " # Changelog\n"
    "+- Documented the --json flag.\n"
)


def dashboard_settings(base: Settings, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "dashboard_token": SecretStr(TOKEN),
        "dashboard_session_secret": SecretStr(SESSION_SECRET),
    }
    return base.model_copy(update=values | extra)


@dataclass
class Seeded:
    agent_run: str
    """A proposed agent run with tool calls, model turns, a plan, an approval and a diff."""
    queued_run: str
    failed_run: str


ORIGINAL = Suggestion(
    40, "Crash on start", "open", "issue", "https://github.com/octo/widgets/issues/40", 0.91
)
NEAR = Suggestion(9, "Slow start", "closed", "issue", "https://github.com/octo/widgets/issues/9", 0.45)


async def seed(url: str, *, extra_runs: int = 0) -> Seeded:
    """Runs as the lifecycle records them, with hostile text wherever text comes from outside."""
    ledger = await Ledger.connect(url)
    try:
        run = await ledger.create_run(
            "octo/widgets", 42, "docs", actor="alice", actor_role="write", event="/steward docs",
            engine="agent",
            instructions=HOSTILE, limits={"memory": 512 * 1024**2, "cpus": 1, "command_timeout": 600},
        )  # fmt: skip
        plan = Plan(
            workflow="docs", number=42, engine="agent", requested_by="alice",
            steps=[PlanStep(id="changelog", title=f"Add a changelog entry {HOSTILE}"),
                   PlanStep(id="exec-blocks", title="Refresh exec blocks", ticked=False)],
            paths=["docs/**", "*.md"], permissions={"contents": "write", "pull_requests": "write"},
        )  # fmt: skip
        await ledger.set_plan(run.id, plan)
        await ledger.transition(run.id, RunState.PLANNING, actor="steward")
        await ledger.transition(run.id, RunState.AWAITING_APPROVAL, actor="steward")
        await ledger.record_approval(run.id, "bob", ApprovalDecision.ACCEPTED, role="maintain",
                                     steps_kept=["changelog"], steps_dropped=["exec-blocks"])  # fmt: skip
        await ledger.transition(run.id, RunState.RUNNING, actor="bob", reason="approved by bob")
        await ledger.record_agent_step(
            run.id, "model", "model", input_tokens=1200, output_tokens=80, cost=0.0042, duration=1.5,
            output=f"I will read the guide. {HOSTILE}", detail={"response": HOSTILE},
        )  # fmt: skip
        await ledger.record_agent_step(
            run.id, "tool", "read_file", duration=0.02, output="# Guide\nold line\n",
            detail={"arguments": {"path": f"docs/guide.md{HOSTILE}"}},
        )  # fmt: skip
        await ledger.record_agent_step(
            run.id, "tool", "write_file", refused=True, exit_code=None, reason="path .github/x is denied",
            detail={"arguments": {"path": ".github/x"}},
        )  # fmt: skip
        await ledger.record_step(run.id, "exec", "sh -c 'make docs'", 0, "built\n", duration=2.25)
        await ledger.record_proposal(
            run.id, "steward/docs/42", "c" * 40, diff_stat="2 file(s) changed",
            files=["docs/guide.md", "CHANGELOG.md"], pr_number=7,
            pr_url="https://github.com/octo/widgets/pull/7", diff=DIFF,
        )  # fmt: skip
        await ledger.transition(run.id, RunState.PROPOSED, actor="steward", reason="proposed in #7")
        queued = await ledger.create_run("octo/gadgets", 3, "tests", actor="carol", event="/steward tests")
        failed = await ledger.create_run("octo/gadgets", 4, "docs", actor="dave", event="/steward docs")
        await ledger.transition(failed.id, RunState.FAILED, actor="steward",
                                reason="stopped by the agent's `cost` budget")  # fmt: skip
        for n in range(extra_runs):
            await ledger.create_run(f"bulk/repo{n % 7}", n + 100, "docs", actor="eve", event="/steward docs")
    finally:
        await ledger.close()
    engine = make_engine(url)
    try:
        made = sessions(engine)
        await record_triage(made, "octo/widgets", 50, "d-1", 1, "suggested #12 (0.91)")
        await record_triage(
            made, "octo/widgets", 51, "d-2", 1, "no candidate passed (8 ranked; best #9 at 0.31)"
        )
        # held back by the comments-an-hour limit, and an answer to a command: the summaries triage records
        limit = "comments an hour (5 of 5); it resets at 15:00 UTC"
        held = TriageResult([ORIGINAL], [ORIGINAL], held=limit).summary
        await record_triage(made, "octo/widgets", 52, "d-3", 1, held)
        answered = TriageResult([NEAR], [], comment_id=77).summary
        await record_triage(made, "octo/widgets", 53, "d-4", 1, answered, event="command", actor="tom",
                            actor_role="triage")  # fmt: skip
        await record_feedback(made, "octo/widgets", 50, 12, duplicate=False, source="command", actor="frank")
    finally:
        await engine.dispose()
    return Seeded(run.id, queued.id, failed.id)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no CSRF field in the page"
    return found.group(1)
