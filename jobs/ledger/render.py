"""Readable text of the ledger: one line per run for lists, a timeline for one run."""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs.ledger.views import RunTrace, RunView, utcnow
from jobs.plan import step_label

_STEP_OUTPUT_LINES = 6
"""Lines of each step's output excerpt shown in the timeline (the full excerpt is in the ledger)."""


def format_age(age: timedelta) -> str:
    """'42s', '5m', '3h', '2d': coarse, for status tables."""
    seconds = max(0, int(age.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_cost(run: RunView) -> str:
    """The run's spend in one short phrase."""
    parts = [f"{run.wall_seconds:.1f}s wall", f"{run.cpu_seconds:.1f}s cpu"]
    if run.tool_calls:
        parts.append(f"{run.tool_calls} tool calls")
    if run.model_tokens:
        parts.append(f"{run.model_tokens} tokens")
    if run.cost_usd:
        parts.append(f"${run.cost_usd:.4f}")
    return ", ".join(parts)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def run_line(run: RunView, now: datetime | None = None) -> str:
    """One run in a list."""
    age = format_age(run.age(now or utcnow()))
    return (
        f"{run.id}  {run.repo}#{run.number}  {run.workflow:<10} {run.state:<17} {age:>5}  {format_cost(run)}"
    )


def _header(run: RunView) -> list[str]:
    lines = [
        f"run {run.id}: {run.workflow} on {run.repo}#{run.number} ({run.engine} engine)",
        f"  state:        {run.state}",
        f"  triggered by: {run.actor or '?'} via {run.event or '?'}"
        + (f" (delivery {run.delivery_id})" if run.delivery_id else ""),
        f"  created:      {_when(run.created_at)} UTC   updated: {_when(run.updated_at)} UTC",
    ]
    optional = [
        ("retry of", run.retry_of),
        ("installation", run.installation_id),
        ("config digest", run.config_digest),
        (
            "sandbox image",
            f"{run.sandbox_image} {run.sandbox_digest or ''}".strip() if run.sandbox_image else None,
        ),
        ("base sha", run.base_sha),
        ("branch", run.branch),
        ("pull request", run.pr_url or (f"#{run.pr_number}" if run.pr_number else None)),
    ]
    lines += [f"  {label + ':':<14}{value}" for label, value in optional if value]
    if run.instructions:
        lines.append(f"  instructions: {run.instructions!r}")
    if run.limits:
        lines.append("  limits:       " + ", ".join(f"{k}={v}" for k, v in sorted(run.limits.items())))
    lines.append(f"  cost:         {format_cost(run)}")
    return lines


def _plan(trace: RunTrace) -> list[str]:
    plan = trace.run.plan
    if plan is None:
        return []
    lines = ["", "plan:"]
    lines += [
        f"  [{'x' if s.ticked else ' '}] {s.id}: {s.title}"
        + (f"  -> {step_label(s)}" if s.result else "")
        + (f": {s.result_detail}" if s.result == "failed" else "")
        for s in plan.steps
    ]
    if plan.paths:
        lines.append("  may change: " + ", ".join(plan.paths))
    if plan.permissions:
        lines.append("  token: " + ", ".join(f"{k}:{v}" for k, v in sorted(plan.permissions.items())))
    return lines


def _steps(trace: RunTrace) -> list[str]:
    if not trace.steps:
        return []
    lines = ["", "steps:"]
    for step in trace.steps:
        code = "running" if step.ended_at is None else f"exit {step.exit_code}"
        took = f"{step.duration:.2f}s" if step.duration is not None else "-"
        killed = f"  KILLED: {step.kill_reason}" if step.kill_reason else ""
        lines.append(f"  {step.seq}. {step.name}  [{code}, {took}]{killed}")
        if step.command:
            lines.append(f"     $ {step.command}")
        if step.output_digest:
            lines.append(f"     output: {step.output_bytes} bytes, sha256 {step.output_digest[:16]}")
        excerpt = step.output_excerpt.rstrip().splitlines()[-_STEP_OUTPUT_LINES:]
        lines += [f"     | {line}" for line in excerpt]
    return lines


def render_timeline(trace: RunTrace) -> str:
    """The whole story of a run, for `steward runs show`."""
    lines = _header(trace.run)
    lines += ["", "timeline:"]
    for t in trace.transitions:
        move = f"{t.from_state} -> {t.to_state}" if t.from_state else f"created as {t.to_state}"
        lines.append(
            f"  {_when(t.at)}  {move:<34} by {t.actor or '?'}" + (f": {t.reason}" if t.reason else "")
        )
    lines += _plan(trace)
    if trace.approvals:
        lines += ["", "approvals:"]
        for a in trace.approvals:
            dropped = f"; dropped {', '.join(a.steps_dropped)}" if a.steps_dropped else ""
            lines.append(
                f"  {_when(a.at)}  {a.decision} by {a.actor} ({a.role or '?'})"
                + (f": {a.reason}" if a.reason else "")
                + dropped
            )
    lines += _steps(trace)
    if trace.proposals:
        lines += ["", "proposed:"]
        for p in trace.proposals:
            lines.append(f"  {_when(p.at)}  {p.branch} @ {p.commit_sha[:12]}  {p.pr_url or ''}".rstrip())
            lines += [f"     {line}" for line in p.diff_stat.rstrip().splitlines()]
    return "\n".join(lines) + "\n"
