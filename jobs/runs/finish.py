"""The lifecycle from an approved plan to a proposal, the same for GitHub and local runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app.github import untrusted
from app.github.untrusted import message
from jobs import failpoints
from jobs.agent.budget import BudgetExceeded
from jobs.agent.planning import AgentNotConfigured
from jobs.agent.spec import EngineModel
from jobs.failures import TRANSIENT
from jobs.ledger import Ledger, LedgerError, RunState, RunView
from jobs.plan import Plan
from jobs.runs.forge import Forge, Proposed
from jobs.runs.setup import Phase
from jobs.runs.work import WorkOrder, diff_stat, work
from sandbox.base import SandboxError, SandboxLost
from sandbox.git import DiffRefusedError, GitError, Identity, Workspace, patch

log = logging.getLogger(__name__)
QUOTED_CHARS = 4000
"""The most of an error's text (which may quote paths the sandbox made) repeated in a result comment."""


@dataclass(frozen=True)
class WorkSetup:
    """How the work phase runs: the sandbox image, who commits, and the token for the push (None: local)."""

    image: str
    identity: Identity
    message: str
    token: str | None = None
    phase: Phase = field(default_factory=Phase)
    """The operator's choices for the setup phase (firewall, download caches)."""
    model: EngineModel | None = None
    """The operator's model for the agent engine (None: none configured; an agent plan then fails)."""
    push: bool = True
    """False in shadow mode: the commit stays in the workspace, nothing is pushed."""


def bot_identity(bot_login: str) -> Identity:
    """Who Steward's commits are by: the App's bot, with GitHub's no-reply address for it."""
    return Identity(bot_login, f"{bot_login.replace('[bot]', '')}@users.noreply.github.com")


def _quoted(exc: Exception) -> str:
    """An error's text as inert Markdown: it may name paths and output the sandbox made."""
    return message(str(exc), QUOTED_CHARS)


def commit_date(run: RunView) -> str:
    """The run's own time: a resumed run makes the same commit, so its push changes nothing."""
    return f"@{int(run.created_at.timestamp())} +0000"


async def end_run(
    ledger: Ledger, forge: Forge, run: RunView, to: RunState, reason: str, message: str = ""
) -> RunView:
    """Move the run to a final state (unless it is there already), show it, and say why once."""
    try:
        run = await ledger.transition(run.id, to, actor="steward", reason=reason[:2000])
    except LedgerError as exc:
        log.info("run %s not moved to %s: %s", run.id, to, exc)
        run = await ledger.require_run(run.id)
    if run.plan is not None:  # a reason may quote outside text (git's error, a refusal): inert on GitHub
        await forge.show_plan(run, run.plan, untrusted.message(reason, 200))
    if message:
        await forge.tell(run, message)
    return run


async def _stopped(ledger: Ledger, run_id: str) -> bool:
    return (await ledger.require_run(run_id)).state != RunState.RUNNING


MAX_REASON = 500
"""Characters of an unexpected error's text kept in the run's reason and result comment."""


def failure_reason(exc: BaseException, ws: Workspace) -> str:
    """An unexpected error in a few words: its kind and text, with host workspace paths shown as the sandbox
    sees them (the host's layout is nobody's business)."""
    text = str(exc).replace(str(ws.work_tree), "/workspace").replace(str(ws.root), "<workspace>")
    text = " ".join(text.split())[:MAX_REASON] or "no detail"
    return f"{type(exc).__name__}: {text}"


async def finish(
    ledger: Ledger,
    forge: Forge,
    run: RunView,
    plan: Plan,
    ws: Workspace,
    order: WorkOrder,
    setup: WorkSetup,
) -> Proposed | None:
    """Work in the sandbox, check and push the diff, propose it; None when the run ended otherwise.

    Any error but cancellation and a transient one (which the job retries) fails the run, saying why: a run
    is never left `running` by a crash.
    """
    try:
        return await _finish(ledger, forge, run, plan, ws, order, setup)
    except TRANSIENT:
        raise
    except Exception as exc:
        reason = failure_reason(exc, ws)
        log.warning("run %s failed: %s", run.id, reason)
        log.debug("run %s failed", run.id, exc_info=True)
        if not await _stopped(ledger, run.id):
            await end_run(
                ledger, forge, run, RunState.FAILED, f"the work failed: {reason}",
                f"Run `{run.id}` failed: {message(reason, QUOTED_CHARS)}\n\n"
                f"Trace: `steward runs show {run.id}`.",
            )  # fmt: skip
        return None


async def _finish(
    ledger: Ledger,
    forge: Forge,
    run: RunView,
    plan: Plan,
    ws: Workspace,
    order: WorkOrder,
    setup: WorkSetup,
) -> Proposed | None:
    try:
        result = await work(
            ws, plan, order, ledger=ledger, run_id=run.id, image=setup.image,
            identity=setup.identity, message=setup.message, date=commit_date(run), token=setup.token,
            phase=setup.phase, model=setup.model, push=setup.push,
        )  # fmt: skip
    except DiffRefusedError as exc:
        if not await _stopped(ledger, run.id):
            await end_run(
                ledger, forge, run, RunState.FAILED,
                f"the diff was refused by the {order.policy.workflow} policy",
                f"Run `{run.id}` was stopped: {_quoted(exc)}\n\nTrace: `steward runs show {run.id}`.",
            )  # fmt: skip
        return None
    except (AgentNotConfigured, BudgetExceeded) as exc:
        if not await _stopped(ledger, run.id):
            await end_run(ledger, forge, run, RunState.FAILED, *_agent_stop(run.id, exc))
        return None
    except SandboxLost:  # Docker restarted under the work: the job tries again (jobs.failures.TRANSIENT)
        raise
    except SandboxError as exc:  # image missing, Docker down, git refused: said as it is
        if not await _stopped(ledger, run.id):  # (a cancel removes the container under the command)
            await end_run(
                ledger, forge, run, RunState.FAILED, "the sandbox or git failed",
                f"Run `{run.id}` failed: {_quoted(exc)}\n\nOnce that is fixed, {forge.retry_hint}.",
            )  # fmt: skip
        return None
    if await _stopped(ledger, run.id):  # cancelled while the sandbox ran: propose nothing
        return None
    plan = plan.with_results({s.step_id: (s.status, s.detail) for s in result.outcome.steps})
    await ledger.set_plan(run.id, plan)
    failed = plan.failed()
    if result.commit is None:
        problems = "".join(f"\n- {message(problem, QUOTED_CHARS)}" for problem in result.outcome.problems)
        if failed:  # a failure that left nothing to propose is the run's failure
            await end_run(
                ledger, forge, run, RunState.FAILED, f"{len(failed)} step(s) failed and nothing changed",
                f"Run `{run.id}` failed: {len(failed)} step(s) failed, and nothing changed.{problems}\n\n"
                f"Trace: `steward runs show {run.id}`.",
            )  # fmt: skip
            return None
        await end_run(
            ledger, forge, run, RunState.CLOSED, "nothing changed",
            f"Run `{run.id}` changed nothing, so there is nothing to propose.{problems}",
        )  # fmt: skip
        return None
    result.patch = await _patch(ws, result.commit)
    proposed = await forge.propose(run, plan, order.item, result)
    await ledger.record_proposal(
        run.id, ws.branch, result.commit, diff_stat=diff_stat(result.changes),
        files=[change.path for change in result.changes], pr_number=proposed.number, pr_url=proposed.url,
        diff=result.patch,
    )  # fmt: skip
    reason = f"proposed in {proposed.where}{_failures(plan)}"
    try:
        run = await ledger.transition(
            run.id, RunState.CLOSED if proposed.final else RunState.PROPOSED, actor="steward", reason=reason,
            expected=RunState.RUNNING,
        )  # fmt: skip
    except LedgerError:
        run = await ledger.require_run(run.id)
    await failpoints.hit("result")
    await forge.show_plan(run, plan, reason)
    await record_told(ledger, run.id, reason)
    return proposed


async def record_told(ledger: Ledger, run_id: str, reason: str) -> None:
    """The result step in the run's trace, once the forge was told how the run ended (`reason`). Best effort:
    the ledger already says proposed, so a database out of reach here costs only this line (retrying the job
    for it would edit the plan comment again for nothing)."""
    try:
        await ledger.record_step(run_id, "result", reason, 0, b"")
    except TRANSIENT as exc:
        log.warning("run %s: could not record its result step: %s: %s", run_id, type(exc).__name__, exc)


async def _patch(ws: Workspace, commit: str) -> str:
    """The proposed diff for the ledger; git failing here loses only the dashboard's view of it."""
    try:
        return await patch(ws, commit)
    except GitError as exc:
        log.warning("could not record the diff of %s: %s", commit[:12], exc)
        return ""


def _agent_stop(run_id: str, exc: AgentNotConfigured | BudgetExceeded) -> tuple[str, str]:
    """The reason and the message of a run the agent engine could not start, or a budget stopped."""
    if isinstance(exc, BudgetExceeded):  # it stopped at once: nothing it wrote is kept
        return (
            f"stopped by the agent's `{exc.budget}` budget",
            f"Run `{run_id}` was stopped: {exc}. Nothing it wrote was kept.\n\n"
            f"Trace: `steward runs show {run_id}`.",
        )
    return exc.reason, f"Run `{run_id}` did not work: {exc}."


def _failures(plan: Plan) -> str:
    """The status line's warning when a proposal holds only part of the plan."""
    failed = plan.failed()
    return f"; {len(failed)} step(s) FAILED, see below" if failed else ""
