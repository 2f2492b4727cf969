"""The dashboard's pages: runs across repositories, one run, health, duplicates; and cancel and retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from app.dashboard import diffview, health
from app.dashboard.auth import PREFIX, wants_html
from app.dashboard.web import csrf_ok, dashboard, denied, page, signed_in
from jobs.ledger import IN_FLIGHT, RETRYABLE, RunNotFound, RunState
from jobs.ledger.browse import Cursor, RunFilter
from jobs.ledger.jsonview import trace_json
from jobs.ledger.views import RunView

PAGE_SIZE = 50
WINDOWS = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
"""The run list's time filter: created within the last hour, day, week or month."""


def _one(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value[:255] or None


def _filter(request: Request) -> tuple[RunFilter, dict[str, str], str | None]:
    """The run list's filters from the query (unknown values are said, not guessed)."""
    state, problem = _one(request, "state"), None
    if state is not None and state not in RunState.__members__.values():
        problem, state = f"unknown state {state!r}", None
    window = _one(request, "since")
    if window is not None and window not in WINDOWS:
        problem, window = f"unknown time window {window!r} (1h, 1d, 7d, 30d)", None
    since = datetime.now(UTC) - WINDOWS[window] if window else None
    where = RunFilter(
        repo=_one(request, "repo"), workflow=_one(request, "workflow"),
        state=RunState(state) if state else None, engine=_one(request, "engine"), since=since,
    )  # fmt: skip
    chosen = {k: v for k, v in {"repo": where.repo, "workflow": where.workflow, "state": state,
                                "engine": where.engine, "since": window}.items() if v}  # fmt: skip
    return where, chosen, problem


def _cursor(request: Request) -> Cursor | None:
    """`after=<microseconds since the epoch>~<run id>`: URL-safe as it stands."""
    at, _, run_id = request.query_params.get("after", "").partition("~")
    if not at.isdigit() or not run_id or len(at) > 20:
        return None
    return Cursor(datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(at)), run_id[:32])


def _after(cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    micros = (cursor.created_at - datetime.fromtimestamp(0, UTC)) // timedelta(microseconds=1)
    return f"{micros}~{cursor.id}"


def _summary(run: RunView) -> dict[str, Any]:
    return {"id": run.id, "repo": run.repo, "number": run.number, "workflow": run.workflow,
            "state": run.state.value, "engine": run.engine, "actor": run.actor,
            "created_at": run.created_at.isoformat(), "tool_calls": run.tool_calls,
            "model_tokens": run.model_tokens, "cost_usd": run.cost_usd}  # fmt: skip


async def runs(request: Request) -> Response:
    who = signed_in(request)
    if isinstance(who, Response):
        return who
    where, chosen, problem = _filter(request)
    ledger = await dashboard(request).ledger()
    found, after = await ledger.page_runs(where, after=_cursor(request), limit=PAGE_SIZE)
    following = _after(after)
    if not wants_html(request):
        return JSONResponse({"runs": [_summary(r) for r in found], "after": following, "problem": problem})
    partial = request.headers.get("hx-request") == "true"
    choices = await dashboard(request).choices()
    return page(
        request, "runs_table.html" if partial else "runs.html", runs=found, chosen=chosen, after=following,
        problem=problem, choices=choices, states=[s.value for s in RunState], windows=list(WINDOWS),
        now=datetime.now(UTC),
    )  # fmt: skip


def _links(request: Request, run: RunView) -> dict[str, str]:
    """The issue, pull request and branch on GitHub (a local run has none)."""
    if run.repo.startswith("local:"):
        return {}
    web = dashboard(request).settings.github_web_url.rstrip("/")
    links = {"issue": f"{web}/{run.repo}/issues/{run.number}"}
    if run.pr_url and run.pr_url.startswith(("https://", "http://")):
        links["pull request"] = run.pr_url
    elif run.pr_number:
        links["pull request"] = f"{web}/{run.repo}/pull/{run.pr_number}"
    if run.branch:
        links["branch"] = f"{web}/{run.repo}/tree/{run.branch}"
    return links


async def run(request: Request) -> Response:
    who = signed_in(request)
    if isinstance(who, Response):
        return who
    ledger = await dashboard(request).ledger()
    try:
        trace = await ledger.trace(request.path_params["run_id"])
    except RunNotFound as exc:
        return denied(request, 404, str(exc))
    if not wants_html(request):
        return JSONResponse(trace_json(trace))
    stopped = None
    if trace.run.state in RETRYABLE and trace.transitions:
        stopped = trace.transitions[-1]
    proposal = trace.proposals[-1] if trace.proposals else None
    return page(
        request, "run.html", trace=trace, run=trace.run, links=_links(request, trace.run), stopped=stopped,
        proposal=proposal, files=diffview.split(proposal.diff) if proposal and proposal.diff else [],
        can_cancel=trace.run.state in IN_FLIGHT, can_retry=trace.run.state in RETRYABLE,
        killed=[s for s in trace.steps if s.kill_reason and not s.refused],
        message=request.query_params.get("done", "")[:200],
    )  # fmt: skip


async def health_page(request: Request) -> Response:
    who = signed_in(request)
    if isinstance(who, Response):
        return who
    board = dashboard(request)
    ledger, redis = await board.ledger(), await board.redis()
    queue = await health.queue(redis)
    noise = await health.noise(ledger, redis)
    failed, _ = await ledger.page_runs(RunFilter(state=RunState.FAILED), limit=20)
    reasons = await ledger.last_reasons([r.id for r in failed])
    partial = request.headers.get("hx-request") == "true"
    return page(
        request, "health_body.html" if partial else "health.html", queue=queue, noise=noise, failed=failed,
        reasons=reasons, now=datetime.now(UTC),
    )  # fmt: skip


def _decision(reason: str) -> str:
    """What triage did, from the outcome it recorded (jobs/duplicates/triage.py, TriageResult.summary)."""
    from jobs.duplicates.record import ANSWERED_NOTE

    if reason.startswith("suggested"):
        return "commented"
    if reason.startswith("held"):
        return "held (noise limit)"
    if reason.endswith(ANSWERED_NOTE):
        return "answered (none found)"
    return "silent"


async def duplicates(request: Request) -> Response:
    who = signed_in(request)
    if isinstance(who, Response):
        return who
    ledger = await dashboard(request).ledger()
    triaged, _ = await ledger.page_runs(RunFilter(workflow="duplicates"), limit=PAGE_SIZE)
    reasons = await ledger.last_reasons([r.id for r in triaged])
    decisions = [(r, reasons.get(r.id, ""), _decision(reasons.get(r.id, ""))) for r in triaged]
    return page(request, "duplicates.html", decisions=decisions, corrections=await ledger.corrections(),
                now=datetime.now(UTC))  # fmt: skip


async def act(request: Request) -> Response:
    """Cancel or retry one run, as the signed-in operator; the ledger records who."""
    from jobs.ledger import LedgerError, roles
    from jobs.runs.cancelling import CancelRefused, cancel_run
    from jobs.runs.queue import enqueue_plan

    who = signed_in(request)
    if isinstance(who, Response):
        return who
    if request.path_params["action"] not in ("cancel", "retry"):
        return denied(request, 404, "the actions are cancel and retry")
    form = await request.form()
    if not csrf_ok(request, who, form):
        return denied(
            request, 403, "the form's CSRF token is missing or wrong; reload the page and try again"
        )
    board, run_id, action = dashboard(request), request.path_params["run_id"], request.path_params["action"]
    ledger = await board.ledger()
    try:
        if action == "cancel":
            done = await cancel_run(ledger, run_id, actor=who.actor, reason=f"cancelled in the dashboard by "
                                    f"{who.name}", redis_url=board.settings.redis_url)  # fmt: skip
            said, target = f"Cancelled {run_id}. " + " ".join(done.notes), run_id
        else:
            redis = await board.redis()
            if redis is None:
                return denied(request, 503, "Redis is unreachable, so a retry could not be queued; try again")
            new = await ledger.retry(
                run_id,
                actor=who.actor,
                actor_role=roles.DASHBOARD,
                reason=f"retried in the dashboard by {who.name}",
            )
            await enqueue_plan(redis, new.id)
            said, target = f"Retrying {run_id} as {new.id}.", new.id
    except RunNotFound as exc:
        return denied(request, 404, str(exc))
    except (CancelRefused, LedgerError) as exc:
        return denied(request, 409, str(exc))
    if not wants_html(request):
        return JSONResponse({"done": said, "run": target})
    from urllib.parse import quote

    return RedirectResponse(f"{PREFIX}/runs/{quote(target)}?done={quote(said[:200])}", status_code=303)
