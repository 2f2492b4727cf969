"""Benchmark duplicate triage on 10,000 realistic issues: backfill throughput, triage latency, memory.

    uv run python bench/duplicates.py [--issues 10000] [--queries 200] [--lexical-only | --hybrid-only]
        [--data FILE.jsonl]

Both retrieval modes are measured in one run when the embeddings extra is installed (hybrid first, then
lexical), each in its own database, and the summary line prints both backfill rates and triage p95s.

Issues are made from the development set's reports (../shared/eval/duplicates/gitbugs.jsonl) with
perturbations (sentences dropped and shuffled, words swapped, numbers changed), served page by page by an
in-memory GitHub client, so the figures measure Steward's own work: tokenising, embedding, writing SQLite,
building the in-memory index and ranking. Everything runs in a temporary directory and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config.model import DuplicatesConfig
from app.github.protocol import IssuePage, IssueRecord, RepoId
from jobs.db import make_engine, migrate, sessions
from jobs.duplicates import semantic, store
from jobs.duplicates.backfill import backfill, restart
from jobs.duplicates.candidates import find_candidates
from jobs.duplicates.live import IndexCache

DEV_SET = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "duplicates" / "gitbugs.jsonl"
REPO = RepoId("bench", "issues")


def perturb(text: str, rng: random.Random) -> str:
    """The same report told a little differently: sentences dropped or reordered, numbers changed."""
    sentences = [s for s in text.replace("\r", "").split(". ") if s.strip()]
    if len(sentences) > 2:
        sentences = [s for s in sentences if rng.random() > 0.2] or sentences[:1]
        if rng.random() < 0.5:
            rng.shuffle(sentences)
    words = ". ".join(sentences).split(" ")
    for i, word in enumerate(words):
        if word.isdigit() and rng.random() < 0.5:
            words[i] = str(rng.randint(1, 9999))
    return " ".join(words)


def make_issues(source: Path, count: int, seed: int = 7) -> list[IssueRecord]:
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    rng = random.Random(seed)
    issues: list[IssueRecord] = []
    for number in range(1, count + 1):
        row = rows[(number - 1) % len(rows)]
        first_pass = number <= len(rows)
        title = row["title"] if first_pass else perturb(row["title"], rng)
        body = (row["body"] or "") if first_pass else perturb(row["body"] or "", rng)
        day = number // 24
        issues.append(
            IssueRecord(
                number=number,
                title=title[:250],
                body=body,
                state="closed" if rng.random() < 0.7 else "open",
                is_pull_request=rng.random() < 0.1,
                author=f"user{rng.randint(1, 500)}",
                labels=["bug"] if rng.random() < 0.5 else [],
                html_url=f"https://github.com/{REPO.full_name}/issues/{number}",
                created_at=f"20{10 + day // 365:02d}-01-01T00:00:00Z" if False else _date(day, number),
            )
        )
    return issues


def _date(day: int, number: int) -> str:
    year, rest = divmod(day, 360)
    month, dom = divmod(rest, 30)
    return f"{2010 + year}-{month + 1:02d}-{dom + 1:02d}T{number % 24:02d}:00:00Z"


class PagedGitHub:
    """GitHub's issue list, oldest first, from memory (backfill uses list_issues and pull_files)."""

    def __init__(self, issues: list[IssueRecord]) -> None:
        self.issues = issues
        self.asked: list[tuple[float, int]] = []
        """(when, items) per page asked for: one page's work is the time to the next ask."""

    async def list_issues(self, repo: RepoId, page: int, per_page: int = 100) -> IssuePage:
        self.asked.append((time.perf_counter(), len(self.issues[(page - 1) * per_page : page * per_page])))
        chunk = self.issues[(page - 1) * per_page : page * per_page]
        return IssuePage(items=chunk, has_next=page * per_page < len(self.issues))

    async def pull_files(self, repo: RepoId, number: int, limit: int) -> list[str]:
        """A PR's changed files (backfill asks for the first few PRs of each page): a stable made-up list."""
        return [f"src/module{number % 37}.py", f"tests/test_module{number % 37}.py"][:limit]


def page_rates(asked: list[tuple[float, int]], finished: float) -> list[float]:
    """Issues per second of each page: its items over the time until the next page was asked for."""
    ends = [when for when, _ in asked[1:]] + [finished]
    return [items / (end - start) for (start, items), end in zip(asked, ends, strict=True) if items]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class LoopLag:
    """How late the event loop wakes a 10 ms sleeper while a backfill runs: a loop blocked by embedding would
    show the whole page's time here (other jobs of the worker, a triage, wait as long)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append((time.perf_counter() - started - 0.01) * 1000)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._probe())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def measure(args: argparse.Namespace, lexical_only: bool) -> dict[str, float]:
    """One mode's backfill, second pass, index build and triage; returns its summary figures."""
    if lexical_only:
        os.environ[semantic.FORCE_LEXICAL_ENV] = "1"
    else:
        os.environ.pop(semantic.FORCE_LEXICAL_ENV, None)
    hybrid, reason = semantic.embeddings_available()
    mode = "hybrid" if hybrid else "lexical"
    print(f"--- retrieval: {mode} ({reason}); cores: {os.cpu_count()}")
    issues = make_issues(args.data, args.issues + args.queries)
    backlog, fresh = issues[: args.issues], issues[args.issues :]
    if hybrid:
        started = time.perf_counter()
        semantic.embed(["warm up the model"])
        print(f"model load: {time.perf_counter() - started:.1f} s ({semantic.describe()})")
    base_rss = rss_peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await migrate(engine)
        db = sessions(engine)
        github = PagedGitHub(backlog)
        cpu_started, started = cpu_seconds(), time.perf_counter()
        # One call for the whole history (a job stops after PAGES_PER_JOB or SECONDS_PER_JOB and re-queues).
        with LoopLag() as lag:
            progress = await backfill(
                github,  # type: ignore[arg-type]
                db,
                REPO,
                max_pages=10**6,
                max_seconds=float("inf"),
            )
        if not progress.done or progress.items != len(backlog):
            raise SystemExit(f"backfill stopped at {progress.items} of {len(backlog)} issues")
        finished = time.perf_counter()
        took, cpu = finished - started, cpu_seconds() - cpu_started
        rates = page_rates(github.asked, finished)
        print(
            f"backfill: {progress.items} issues in {took:.1f} s = {progress.items / took:.0f} issues/s, "
            f"median page {statistics.median(rates):.0f} issues/s ({len(rates)} pages); "
            f"{cpu:.1f} CPU s = {progress.items / cpu:.0f} issues per CPU second"
        )
        print(
            f"event loop during the backfill: a 10 ms sleep woke late by p50 {statistics.median(lag.lags):.1f} ms,"
            f" p99 {pct(lag.lags, 0.99):.1f} ms, max {max(lag.lags):.1f} ms ({len(lag.lags)} wakes)"
        )
        after_backfill = rss_peak_mb()

        # The same history again (a repository added again, an index rebuilt): stored vectors are reused.
        await restart(db, REPO.full_name)
        again_github = PagedGitHub(backlog)
        again_started = time.perf_counter()
        again = await backfill(again_github, db, REPO, max_pages=10**6, max_seconds=float("inf"))  # type: ignore[arg-type]
        again_finished = time.perf_counter()
        again_rates = page_rates(again_github.asked, again_finished)
        ratio = statistics.median(again_rates) / statistics.median(rates)
        print(
            f"backfill again, same texts: {again.items} issues in {again_finished - again_started:.1f} s, "
            f"median page {statistics.median(again_rates):.0f} issues/s = {ratio:.1f}x the first pass's (same run)"
        )

        cache = IndexCache(db)
        started = time.perf_counter()
        snap = await cache.snapshot(REPO.full_name, hybrid)
        build = time.perf_counter() - started
        print(
            f"index build: {build * 1000:.0f} ms, {snap.base.corpus.nbytes() / 2**20:.1f} MiB of arrays; "
            f"peak RSS {after_backfill:.0f} MiB after the backfill, {rss_peak_mb():.0f} MiB after the build"
        )

        config = DuplicatesConfig()
        rank_ms: list[float] = []
        total_ms: list[float] = []
        for item in fresh:
            started = time.perf_counter()
            await store.upsert_item(db, REPO.full_name, item)
            indexed = time.perf_counter()
            await find_candidates(db, cache, REPO.full_name, item.number, config)
            done = time.perf_counter()
            rank_ms.append((done - indexed) * 1000)
            total_ms.append((done - started) * 1000)
        triage_p95 = pct(total_ms, 0.95)
        print(
            f"triage of one new issue ({len(fresh)} issues, after {len(backlog)}): "
            f"index+rank p50 {statistics.median(total_ms):.1f} ms, p95 {triage_p95:.1f} ms; "
            f"rank only p50 {statistics.median(rank_ms):.1f} ms, p95 {pct(rank_ms, 0.95):.1f} ms"
        )
        await engine.dispose()
    print(f"memory: peak RSS {rss_peak_mb():.0f} MiB (before indexing {base_rss:.0f} MiB)")
    return {
        "hybrid": float(hybrid),
        "rate": statistics.median(rates),
        "overall": progress.items / took,
        "again": ratio,
        "p95": triage_p95,
        "lag_p99": pct(lag.lags, 0.99),
    }


async def main(args: argparse.Namespace) -> None:
    modes = [True] if args.lexical_only else [False, True] if semantic.embeddings_available()[0] else [True]
    if args.hybrid_only:
        modes = [False]
    figures = {}
    for lexical_only in modes:
        result = await measure(args, lexical_only)
        figures["hybrid" if result["hybrid"] else "lexical"] = result
    load = os.getloadavg()[0]
    parts = [
        f"{mode} backfill median {f['rate']:.0f} issues/s (overall {f['overall']:.0f}; again {f['again']:.1f}x), "
        f"triage p95 {f['p95']:.1f} ms, loop lag p99 {f['lag_p99']:.1f} ms"
        for mode, f in figures.items()
    ]
    print(
        "summary: " + "; ".join(parts) + f"; load average {load:.1f} on {os.cpu_count()} cores "
        "(other processes' load slows every figure)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--lexical-only", action="store_true", help="Only the lexical mode.")
    parser.add_argument("--hybrid-only", action="store_true", help="Only the hybrid mode (needs the extra).")
    parser.add_argument("--data", type=Path, default=DEV_SET)
    asyncio.run(main(parser.parse_args()))
