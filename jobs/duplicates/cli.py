"""`steward eval duplicates`: measure duplicate triage on a labelled JSONL file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.config.model import DuplicatesConfig
from jobs.duplicates import decision, evaluate, semantic
from jobs.duplicates.dataset import DatasetError, load_reports

EVAL_HELP = """Rank each report whose original is in FILE against every earlier report of the same project
(the original always included) and print recall@k and MRR; then, at the threshold, the precision and recall
of the decision to comment. A comment is made when the best candidate's calibrated score reaches the threshold
and shows up to --max-suggestions candidates; it is correct when a report linked to this one as a duplicate is
among them. Precision = correct comments / comments over all reports (except those closed as duplicates of
a report outside the file); recall = duplicates with a correct comment / duplicates whose original is in
FILE."""

eval_app = typer.Typer(help="Measure Steward's workflows on labelled data.", no_args_is_help=True)


def _ks(text: str) -> list[int]:
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise typer.BadParameter("--k takes positive integers separated by commas, e.g. 1,5,10") from None
    if not ks or ks[0] < 1:
        raise typer.BadParameter("--k takes positive integers separated by commas, e.g. 1,5,10")
    return ks


@eval_app.command("duplicates", help=EVAL_HELP)
def duplicates(
    file: Annotated[Path, typer.Argument(help="JSONL: id, title, body, created_at, duplicate_of, project.")],
    k: Annotated[str, typer.Option("--k", help="Ranks for recall@k, comma-separated.")] = "1,5,10",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object only.")] = False,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Calibrated score needed to comment [default: the retrieval mode's default].",
        ),
    ] = None,
    max_suggestions: Annotated[int, typer.Option(min=1, max=10)] = DuplicatesConfig().max_suggestions,
    lexical_only: Annotated[
        bool, typer.Option("--lexical-only", help="Ignore the embeddings extra.")
    ] = False,
    synthetic_dates: Annotated[
        bool,
        typer.Option(
            "--synthetic-dates", help="created_at only orders the reports (duppr-dev): no age-gap feature."
        ),
    ] = False,
) -> None:
    ks = _ks(k)
    try:
        reports = load_reports(file)
    except DatasetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None  # like a usage error: the input, not the code, is wrong
    available, reason = semantic.embeddings_available()
    mode = "hybrid" if available and not lexical_only else "lexical"
    why = "--lexical-only" if lexical_only else reason
    if threshold is None:
        threshold = decision.default_threshold(mode == "hybrid")
    evaluate.stderr_progress(f"{len(reports)} reports; retrieval: {mode} ({why})")
    outcomes = evaluate.run(
        reports, lexical_only=lexical_only, progress=evaluate.stderr_progress, dates=not synthetic_dates
    )
    metrics = evaluate.measure(outcomes, ks, threshold, max_suggestions)
    points = evaluate.curve(outcomes, (*evaluate.CURVE_THRESHOLDS, threshold), max_suggestions)
    projects = evaluate.per_project(outcomes, ks, threshold, max_suggestions)
    if as_json:
        report = metrics.as_json()
        report["curve"] = [p.as_json() for p in points]
        report["projects"] = {name: m.as_json() for name, m in projects.items()}
        typer.echo(json.dumps(report))
        return
    typer.echo(f"retrieval: {mode}   reports with their original in the file: n = {metrics.n}")
    for key, value in metrics.recall.items():
        typer.echo(f"recall@{key:<3} {value:.3f}")
    typer.echo(f"MRR        {metrics.mrr:.3f}")
    typer.echo(
        f"decision at threshold {threshold:g}: {metrics.comments} comments, "
        f"precision {metrics.precision:.3f}, recall {metrics.decision_recall:.3f}"
    )
    typer.echo("precision-recall curve (choose a threshold; the decision's coefficients are fixed):")
    for p in points:
        mark = "  <- threshold" if p.threshold == threshold else ""
        typer.echo(
            f"  threshold {p.threshold:<5g} {p.comments:5d} comments  precision {p.precision:.3f}"
            f"  recall {p.recall:.3f}{mark}"
        )
    typer.echo(f"per project at threshold {threshold:g}:")
    last = max(ks)
    for name, m in projects.items():
        typer.echo(
            f"  {name:28s} n={m.n:4d}  recall@{last} {m.recall[last]:.3f}  MRR {m.mrr:.3f}  "
            f"{m.comments:4d} comments  precision {m.precision:.3f}  recall {m.decision_recall:.3f}"
        )
    typer.echo("calibration: the best candidate's score against how often it was the labelled duplicate")
    for project, bins in evaluate.reliability(outcomes).items():
        expected = sum(b.mean_score * b.n for b in bins)
        right = sum(b.right for b in bins)
        typer.echo(f"  {project}: expected {expected:.1f} right, observed {right}")
        for b in bins:
            typer.echo(
                f"    score {b.low:g}-{b.high:g}: {b.n:5d} reports, mean score {b.mean_score:.3f}, "
                f"observed {b.observed:.3f} ({b.right})"
            )


duplicates_app = typer.Typer(help="Maintain the duplicate index.", no_args_is_help=True)


@duplicates_app.command("reembed")
def reembed_cmd(
    repo: str | None = typer.Option(None, "--repo", metavar="OWNER/NAME", help="Only this repository."),
    missing: bool = typer.Option(
        False, "--missing", help="Also embed items stored without a vector (indexed while lexical only)."
    ),
) -> None:
    """Embed again the stored vectors another model made (after the model or STEWARD_EMBED_MAX_TOKENS
    changed; `steward doctor` counts them). Run it with the workers stopped or running: rows are updated
    in batches and the workers' snapshots pick the new vectors up."""
    import asyncio

    from app.settings import Settings
    from jobs.db import make_engine, migrate, sessions
    from jobs.duplicates.reembed import other_models, reembed

    available, reason = semantic.embeddings_available()
    if not available:
        typer.echo(f"error: {reason}", err=True)
        raise typer.Exit(1)

    async def go() -> None:
        engine = make_engine(Settings().db_url)
        try:
            await migrate(engine)
            factory = sessions(engine)
            before = await other_models(factory, repo)
            done = await reembed(factory, repo, missing=missing)
            typer.echo(
                f"re-embedded {done} item(s) with {semantic.model_id()} (before: {before or 'none stale'})"
            )
        finally:
            await engine.dispose()

    asyncio.run(go())


def register(app: typer.Typer) -> None:
    """Add `steward eval duplicates` and `steward duplicates reembed`."""
    app.add_typer(eval_app, name="eval")
    app.add_typer(duplicates_app, name="duplicates")
