"""Readable text of the ledger: one line per run for lists, a timeline for one run."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from datetime import datetime, timedelta

from jobs.ledger import egress
from jobs.ledger.egress import EgressRecord
from jobs.ledger.roles import requester
from jobs.ledger.views import RunTrace, RunView, StepView, utcnow
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


def format_seconds(seconds: float) -> str:
    """'0.04s', '3.21s', '12.3s': enough digits that a short sandbox step does not read as zero."""
    return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"


def format_cost(run: RunView) -> str:
    """The run's spend in one short phrase: sandbox wall and CPU time, then tool calls, tokens, money."""
    parts = [f"{format_seconds(run.wall_seconds)} wall", f"{format_seconds(run.cpu_seconds)} cpu"]
    if run.tool_calls:
        parts.append(f"{run.tool_calls} tool calls")
    if run.model_tokens:
        parts.append(f"{run.model_tokens} tokens")
    if run.cost_usd:
        parts.append(f"${run.cost_usd:.4f}")
    return ", ".join(parts)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


_COLUMNS = (("RUN", 12), ("REPO", 32), ("#", 6), ("WORKFLOW", 9), ("STATE", 17), ("AGE", 5))
"""`runs list`: fixed column widths (a longer cell is cut with an ellipsis), then the cost, which is last."""
_LABEL_WIDTH = 16
"""`runs show`: every label padded to one width, so the values line up."""


def cut(text: str, width: int) -> str:
    """The text in at most width characters; a cut keeps the end, where paths and names differ."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _row(cells: list[str]) -> str:
    parts = [f"{cut(cell, width):<{width}}" for cell, (_, width) in zip(cells, _COLUMNS, strict=False)]
    return "  ".join(parts + cells[len(_COLUMNS) :]).rstrip()


def list_header() -> str:
    """The header row of `runs list`."""
    return _row([name for name, _ in _COLUMNS] + ["COST"])


def run_line(run: RunView, now: datetime | None = None) -> str:
    """One run in a list, in the columns of list_header."""
    age = format_age(run.age(now or utcnow()))
    cells = [run.id, run.repo, str(run.number), run.workflow, run.state.value, age]
    return _row([*cells, format_cost(run)])


def format_size(value: object) -> str:
    """Bytes in the largest whole binary unit: 512 MiB, 1 GiB, 1536 bytes."""
    if not isinstance(value, int) or isinstance(value, bool):
        return str(value)
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return f"{value} bytes"


def format_duration(value: object) -> str:
    """Seconds in words: 45 s, 10 min, 1 h 30 min."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    seconds = float(value)
    if seconds < 60 or seconds % 60:
        return f"{seconds:g} s"
    minutes = int(seconds // 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _cores(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


_LIMIT_WORDS: dict[str, tuple[str, Callable[[object], str]]] = {
    "memory": ("memory {}", format_size),
    "cpus": ("{} CPU", _cores),
    "pids": ("{} processes", str),
    "command_timeout": ("{} per command", format_duration),
    "run_timeout": ("{} per run", format_duration),
    "output_bytes": ("output {} per command", format_size),
    "tmpfs_bytes": ("tmp and home {} each", format_size),
    "disk": ("workspace disk {}", format_size),
}


def format_limits(limits: dict[str, object]) -> str:
    """The recorded limits in units (memory 512 MiB, 10 min per command); unknown keys as key=value."""
    known = [words.format(show(limits[key])) for key, (words, show) in _LIMIT_WORDS.items() if key in limits]
    others = [f"{key}={value}" for key, value in sorted(limits.items()) if key not in _LIMIT_WORDS]
    return ", ".join(known + others)


def _field(label: str, value: object) -> str:
    return f"  {label + ':':<{_LABEL_WIDTH}}{value}"


def _header(run: RunView) -> list[str]:
    lines = [
        f"run {run.id}: {run.workflow} on {run.repo}#{run.number} ({run.engine} engine"
        + (", shadow mode: recorded, not posted)" if run.mode == "shadow" else ")"),
        _field("state", run.state),
        _field(
            "triggered by",
            f"{requester(run)} via {run.event or '?'}"
            + (f" (delivery {run.delivery_id})" if run.delivery_id else ""),
        ),
        _field("created", f"{_when(run.created_at)} UTC"),
        _field("updated", f"{_when(run.updated_at)} UTC"),
    ]
    optional = [
        ("retry of", run.retry_of),
        ("revision of", run.revision_of),
        ("installation", run.installation_id),
        ("config digest", run.config_digest),
        (
            "sandbox image",
            f"{run.sandbox_image} {run.sandbox_digest or ''}".strip() if run.sandbox_image else None,
        ),
        ("base sha", run.base_sha),
        ("branch", run.branch),
        ("pull request", run.pr_url or (f"#{run.pr_number}" if run.pr_number else None)),
        ("instructions", repr(run.instructions) if run.instructions else None),
        ("paths", " ".join(run.paths) if run.paths else None),
        ("limits", format_limits(run.limits) if run.limits else None),
    ]
    lines += [_field(label, value) for label, value in optional if value]
    lines.append(_field("cost", format_cost(run)))
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
    if plan.setup is not None:
        install = plan.setup.command or "none"
        lines.append(f"  install: {install}" + (f"  ({plan.setup.reason})" if plan.setup.reason else ""))
        if plan.setup.command:
            lines.append("  may reach: " + (", ".join(plan.setup.hosts) or "no host"))
    return lines


def _status(step: StepView) -> str:
    code = "running" if step.ended_at is None else f"exit {step.exit_code}"
    took = f"{step.duration:.2f}s" if step.duration is not None else "-"
    if step.cpu_seconds is not None:
        took += f", cpu {step.cpu_seconds:.2f}s"
    killed = f"  KILLED: {step.kill_reason}" if step.kill_reason else ""
    return f"[{code}, {took}]{killed}"


def _tail(step: StepView) -> list[str]:
    excerpt = step.output_excerpt.rstrip().splitlines()[-_STEP_OUTPUT_LINES:]
    return [f"     | {line}" for line in excerpt]


def _step(step: StepView) -> list[str]:
    lines = [f"  {step.seq}. {step.name}  {_status(step)}"]
    if step.command:
        lines.append(f"     $ {step.command}")
    if step.output_digest:
        lines.append(f"     output: {step.output_bytes} bytes, sha256 {step.output_digest[:16]}")
    return lines + _tail(step)


def _agent_step(step: StepView) -> list[str]:
    """A model request (tokens, cost, latency, what it answered) or a tool call (refused or not, and why)."""
    took = format_seconds(step.duration or 0.0)
    if step.step_kind == "model":
        head = (f"  {step.seq}. model  [{step.input_tokens} in, {step.output_tokens} out tokens, "
                f"cost {step.cost:.6f}, {took}]")  # fmt: skip
        return [head, f"     -> {step.output_excerpt.strip()[:200]}"]
    state = f"REFUSED: {step.kill_reason}" if step.refused else ("ok" if step.exit_code == 0 else "failed")
    lines = [f"  {step.seq}. tool {step.name}  [{state[:300]}, {took}]"]
    arguments = (step.detail or {}).get("arguments")
    if arguments:
        lines.append(f"     args: {json.dumps(arguments, ensure_ascii=True)[:300]}")
    if step.output_digest:
        lines.append(f"     result: sha256 {step.output_digest[:16]}")
    return lines


def _agent_totals(trace: RunTrace) -> list[str]:
    model = [step for step in trace.steps if step.step_kind == "model"]
    tools = [step for step in trace.steps if step.step_kind == "tool"]
    if not model and not tools:
        return []
    refused = sum(1 for step in tools if step.refused)
    return [
        f"  agent totals: {len(model)} model request(s), {sum(s.input_tokens for s in model)} input and "
        f"{sum(s.output_tokens for s in model)} output tokens, cost {sum(s.cost for s in model):.6f}, "
        f"{len(tools)} tool call(s) ({refused} refused)"
    ]


def _install_command(recorded: str) -> str:
    """The install step as configured: the `sh -c` the sandbox ran it through taken off."""
    try:
        argv = shlex.split(recorded)
    except ValueError:
        return recorded
    return argv[2] if len(argv) == 3 and argv[:2] == ["sh", "-c"] else recorded


def _setup_step(step: StepView) -> list[str]:
    """The install step: its command, exit, time and the digest of its whole output."""
    lines = [
        f"  {step.seq}. setup phase: install step  {_status(step)}",
        f"     command: {_install_command(step.command)}",
    ]
    if step.output_digest:
        lines.append(f"     output:  {_bytes(step.output_bytes)}, sha256 {step.output_digest}")
    return lines + _tail(step)


def _egress_step(step: StepView) -> list[str]:
    """The setup phase's network: each host reached and refused, and the bytes the proxy carried."""
    record = EgressRecord.parse(step.output_excerpt)
    traffic = f"{_bytes(record.received)} in, {_bytes(record.sent)} out"
    lines = [
        f"  {step.seq}. setup phase: network  [{len(record.reached)} host(s) reached, "
        f"{len(record.refused)} refused; {traffic}]"
    ]
    lines += [f"     reached  {host}  ({_times(n, 'connection')})" for host, n in record.reached.items()]
    lines += [f"     REFUSED  {entry}  ({_times(n, 'time')})" for entry, n in record.refused.items()]
    if not record.reached and not record.refused:
        lines.append("     no connection was asked for")
    return lines


def _bytes(count: int) -> str:
    for unit, size in (("MiB", 1024**2), ("KiB", 1024)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _times(count: int, what: str) -> str:
    return f"{count} {what}" + ("" if count == 1 else "s")


def _steps(trace: RunTrace) -> list[str]:
    if not trace.steps:
        return []
    lines = ["", "steps:"]
    for step in trace.steps:
        if step.name == "setup":
            lines += _setup_step(step)
        elif step.name == egress.NAME:
            lines += _egress_step(step)
        elif step.step_kind in ("model", "tool"):
            lines += _agent_step(step)
        else:
            lines += _step(step)
    return lines + _agent_totals(trace)


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
