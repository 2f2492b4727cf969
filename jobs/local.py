"""`steward run WORKFLOW`: any workflow that writes (docs, ...) against a local checkout, on the embedded
defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

# The run's modules (ledger, sandbox, engines) are imported inside the command: `--help` stays fast.
INTERRUPTED = 130
"""Exit code after Ctrl-C, as a shell reports a process ended by SIGINT."""


def _err(text: str) -> None:
    typer.echo(text, err=True)


def run_workflow(
    workflow: str = typer.Argument(
        ...,
        metavar="WORKFLOW",
        help="The workflow to run: one that writes, e.g. docs (an unknown name lists those there are).",
    ),
    repo: Path = typer.Option(
        ..., "--repo", metavar="DIR", help="The local git checkout to work on (its HEAD, clean)."
    ),
    issue_json: Path | None = typer.Option(
        None,
        "--issue-json",
        metavar="FILE",
        help="Output of `gh issue view N --json number,title,body,labels,state,url`; "
        "without it, the issue or PR the last commit names (#N).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve the plan without asking."),
    skip: str = typer.Option(
        "",
        "--skip",
        metavar="STEPS",
        help="Steps to drop, by number or id (e.g. 2,3), as unticking them on GitHub does. "
        "Without --yes, `e` at the prompt chooses them too.",
    ),
    paths: list[str] = typer.Option(
        [],
        "--paths",
        metavar="P",
        help="A path the run is about (repeatable), as `/steward tests src/a.py` names it; recorded "
        "with the run and given to the workflow's plan.",
    ),
    engine: str | None = typer.Option(
        None,
        "--engine",
        metavar="ENGINE",
        help="builtin (needs no model) or agent (the STEWARD_MODEL_* model through Steward's tools); "
        "without it, the checkout's `workflows.<name>.engine`.",
    ),
    instructions: str = typer.Option(
        "",
        "--instructions",
        metavar="TEXT",
        help="What you want done, as the words after `/steward docs` (the agent engine acts on them, "
        "as data: they cannot widen its paths, tools or budget).",
    ),
) -> None:
    """Run a workflow against a local checkout (nothing is pushed).

    Plan, approve, work in the sandbox, commit on `steward/WORKFLOW/<number>`; print the diff and PR text.
    `steward run docs --repo DIR` runs the docs workflow.
    """
    from app.settings import SettingsError, load_settings
    from jobs.agent.operator import operator_model
    from jobs.agent.planning import model_label
    from jobs.runs.local import LocalOptions
    from jobs.runs.localitem import LocalRunError

    if engine not in (None, "builtin", "agent"):
        typer.echo(f"steward run: --engine must be builtin or agent, not {engine!r}", err=True)
        raise typer.Exit(2)
    try:
        settings = load_settings()
        options = LocalOptions(
            repo=repo.resolve(),
            issue_json=issue_json,
            yes=yes,
            db_url=settings.db_url,
            image=settings.sandbox_image,
            allowed_images=settings.allowed_images,
            egress_allowlist=tuple(settings.egress_allowlist),
            egress_without_firewall=settings.egress_without_firewall,
            cache_max_bytes=settings.cache_max_bytes,
            data_dir=settings.data_dir,
            workflow=workflow,
            paths=tuple(paths),
            engine=engine,
            instructions=instructions,
            model=lambda: operator_model(settings),
            model_label=model_label(settings.model_provider, settings.model_name),
            mcp_servers=tuple(settings.mcp_servers),
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _run(options, skip)
    except (LocalRunError, SettingsError) as exc:
        typer.echo(f"steward run: {exc}", err=True)
        raise typer.Exit(1) from None


def _run(options: object, skip: str) -> None:
    """Plan (in the event loop), ask (outside it, so Ctrl-C and end of input end the prompt), then work."""
    from jobs.runs.local import LocalOptions, decide_local, local_workflow, plan_local, work_local
    from jobs.runs.localprompt import Answer, SkipError, ask, parse_skip

    assert isinstance(options, LocalOptions)
    local_workflow(options.workflow)  # an unknown name is refused before anything is checked or recorded
    try:
        local = asyncio.run(plan_local(options, typer.echo, _err))
    except KeyboardInterrupt:
        _err("\nInterrupted while planning; the run is cancelled.")
        raise typer.Exit(INTERRUPTED) from None
    try:
        skipped = parse_skip(local.plan, skip)
    except SkipError as exc:
        asyncio.run(decide_local(options, local, Answer(False, f"--skip {skip!r}: {exc}")))
        _err(f"steward run: --skip: {exc}; run {local.run.id} is cancelled.")
        raise typer.Exit(2) from None
    if options.yes or not local.plan.approval_required:
        answer = Answer(True, "--yes" if options.yes else "no approval required", skipped)
    else:
        answer = ask(local.plan, input, typer.echo, skipped)
    if not asyncio.run(decide_local(options, local, answer)):
        typer.echo(f"\nNothing was run ({answer.reason}). Run {local.run.id} is cancelled.")
        if answer.interrupted:
            raise typer.Exit(INTERRUPTED)
        if answer.reason.startswith("end of input"):
            raise typer.Exit(1)
        return
    try:
        asyncio.run(work_local(options, local, typer.echo, _err))
    except KeyboardInterrupt:
        _err(f"\nInterrupted; run {local.run.id} is cancelled and its sandbox removed.")
        raise typer.Exit(INTERRUPTED) from None


def register(app: typer.Typer) -> None:
    """Add `steward run` to `steward`."""
    app.command("run", no_args_is_help=True)(run_workflow)
