"""The worker's duplicate jobs: keep the index current, backfill it, triage new items."""

from __future__ import annotations

import logging
from typing import Any, Literal

from app.config.loader import load_repo_config
from app.config.model import DuplicatesConfig
from app.constants import JOB_BACKFILL
from app.github.protocol import IssueRecord, RepoId
from app.github.records import issue_record
from app.observability import tracing
from jobs.comment_count import comments_limit
from jobs.context import db_sessions, github_for, settings_of
from jobs.duplicates import backfill as backfill_mod
from jobs.duplicates import store
from jobs.duplicates.events import apply_event
from jobs.duplicates.live import IndexCache
from jobs.duplicates.record import record_triage, triaged_before
from jobs.duplicates.rerun import retriage_on_edit
from jobs.duplicates.store import Sessions
from jobs.duplicates.templates import repo_templates
from jobs.duplicates.triage import triage
from jobs.failures import guarded
from jobs.models.issue_index import FILES_MAX
from policies.loader import token_permissions

log = logging.getLogger(__name__)

WORKFLOW = "duplicates"
TRIAGE_JOB = "triage_duplicates"
"""The name the receiver enqueues triage under (app/handlers/duplicates.py)."""
BACKFILL_JOB = "backfill_index"
_caches: dict[int, tuple[Sessions, IndexCache]] = {}


def index_cache(sessions: Sessions) -> IndexCache:
    """One in-memory index per database per process, shared by every job of the worker."""
    entry = _caches.get(id(sessions))
    if entry is None or entry[0] is not sessions:
        entry = (sessions, IndexCache(sessions))
        _caches[id(sessions)] = entry
    return entry[1]


def skip_reason(config: DuplicatesConfig, item: IssueRecord, author_is_bot: bool, asked: bool) -> str | None:
    """Why this repository's configuration does not want this item triaged, or None."""
    if not config.enabled:
        return "duplicate triage is disabled"
    if asked:
        return None
    if not config.on_open:
        return "triage on open is off"
    if item.is_pull_request and not config.on_pull_requests:
        return "pull requests are not triaged"
    if item.author in config.exclude_authors:
        return f"author {item.author} is excluded"
    if author_is_bot and not config.include_bots:
        return f"author {item.author} is a bot"
    if set(item.labels) & set(config.exclude_labels):
        return "the item carries an excluded label"
    return None


async def _needs_github(sessions: Sessions, repo: RepoId, action: object, item: dict[str, Any]) -> bool:
    """Only three upkeep cases read GitHub: a close as duplicate (to find the original named in a comment),
    an edit of an item triage ran on (its comment may need updating), and new commits on a pull request
    whose changed files the index holds (they are fetched again). Others mint no token."""
    if action == "closed":
        return item.get("state_reason") == "duplicate"
    if action == "edited" and "number" in item:
        return await triaged_before(sessions, repo.full_name, int(item["number"]))
    if action == "synchronize" and "number" in item:
        row = await store.get_item(sessions, repo.full_name, int(item["number"]))
        return row is not None and row.files is not None
    return False


async def index_event(ctx: dict[str, Any], delivery_id: str, event_name: str, event: dict[str, Any]) -> str:
    """Item and "Duplicate of #N" deliveries update the index; an edit also updates our comment, if any."""
    repo = RepoId.parse(str((event.get("repository") or {}).get("full_name", "/")) or "/")
    installation_id = int((event.get("installation") or {}).get("id", 0))

    action = event.get("action")
    item = event.get("pull_request" if event_name == "pull_request" else "issue") or {}

    async def work() -> str:
        sessions = db_sessions(ctx)
        gh = None
        if (
            installation_id
            and event_name != "issue_comment"
            and await _needs_github(sessions, repo, action, item)
        ):
            gh = await github_for(ctx, installation_id, repo, token_permissions(WORKFLOW))
        outcome = await apply_event(sessions, gh, event_name, event)
        if gh is None and action == "edited" and outcome.startswith("indexed"):
            outcome = f"{outcome}; never triaged, so no comment to update"
        elif gh is not None and action == "edited" and outcome.startswith("indexed"):
            updated = await retriage_on_edit(
                gh,
                sessions,
                index_cache(sessions),
                repo,
                int(item["number"]),
                bot_login=settings_of(ctx).bot_login,
                redis=ctx.get("redis"),
            )
            outcome = f"{outcome}; {updated}"
        return outcome

    outcome = await guarded(ctx, None, work())
    log.info("index_event delivery=%s %s: %s", delivery_id, repo.full_name, outcome)
    return outcome or "failed"


async def triage_item(
    ctx: dict[str, Any], delivery_id: str, event: dict[str, Any], kind: Literal["issue", "pull_request"]
) -> str:
    """issues.opened / pull_request.opened: index the item, then comment if an earlier one likely matches."""
    data = event.get("pull_request" if kind == "pull_request" else "issue")
    repo_name = str((event.get("repository") or {}).get("full_name", ""))
    installation_id = int((event.get("installation") or {}).get("id", 0))
    if not isinstance(data, dict) or "number" not in data or not repo_name or not installation_id:
        return "ignored: no installation, repository or item"
    item = issue_record(data)
    item.is_pull_request = kind == "pull_request"
    repo = RepoId.parse(repo_name)
    is_bot = item.author_type == "bot"

    async def work() -> str:
        gh = await github_for(ctx, installation_id, repo, token_permissions(WORKFLOW))
        loaded = await load_repo_config(gh, repo, ctx.get("redis"))
        config = loaded.config.workflows.duplicates
        sessions = db_sessions(ctx)
        if item.is_pull_request and config.enabled and config.on_pull_requests:
            item.files = await gh.pull_files(repo, item.number, FILES_MAX)  # one bounded page: shared files
        await store.upsert_item(sessions, repo.full_name, item)
        reason = skip_reason(config, item, is_bot, asked=False)
        if reason is not None:
            return f"indexed; skipped: {reason}"
        redis = ctx.get("redis")
        per_hour = loaded.config.noise.comments_per_hour
        full = None if redis is None else await comments_limit(redis, repo.full_name, per_hour)
        result = await triage(
            gh,
            sessions,
            index_cache(sessions),
            repo,
            item.number,
            config,
            bot_login=settings_of(ctx).bot_login,
            prefix=loaded.config.prefix,
            hold_new=full,
            redis=redis,
        )
        await record_triage(
            sessions, repo.full_name, item.number, delivery_id, installation_id, result.summary,
            mode="shadow" if result.shadow else "normal",
        )  # fmt: skip
        return result.summary

    outcome = await guarded(ctx, None, work())  # triage never comments about its own failures
    log.info("triage_item delivery=%s %s#%s: %s", delivery_id, repo.full_name, item.number, outcome)
    return outcome or "failed"


async def backfill_index(ctx: dict[str, Any], installation_id: int, repo: str, restart: bool = False) -> str:
    """Index a repository's history a bounded number of pages at a time; re-queues itself until done."""
    repo_id = RepoId.parse(repo)
    sessions = db_sessions(ctx)
    if restart:
        await backfill_mod.restart(sessions, repo)

    async def work() -> str:
        gh = await github_for(ctx, installation_id, repo_id, token_permissions(WORKFLOW))
        await repo_templates(gh, repo_id, ctx.get("redis"), refresh=restart)  # triage then finds them cached
        progress = await backfill_mod.backfill(gh, sessions, repo_id)
        if not progress.done and ctx.get("redis") is not None:  # the next pages, under their own job id
            job_id = f"{backfill_job_id(repo)}:{progress.next_page}"
            await ctx["redis"].enqueue_job(
                BACKFILL_JOB, installation_id, repo, _job_id=job_id, **tracing.job_kwargs()
            )
        return f"{progress.items} items, next page {progress.next_page}, done={progress.done}"

    outcome = await guarded(
        ctx, None, work()
    )  # RateLimited becomes arq Retry(defer=reset) with the cursor kept
    log.info("backfill_index %s: %s", repo, outcome)
    return outcome or "failed"


def backfill_job_id(repo: str) -> str:
    """One first backfill job per repository: a redelivered installation event does not start a second."""
    return f"{JOB_BACKFILL}:{repo}"


async def enqueue_backfills(ctx: dict[str, Any], installation_id: int, repos: list[str]) -> int:
    """Queue the backfill of each newly added repository; returns how many were not already queued."""
    redis = ctx.get("redis")
    if redis is None or not installation_id:
        return 0
    queued = 0
    for repo in repos:
        job = await redis.enqueue_job(
            BACKFILL_JOB,
            installation_id=installation_id,
            repo=repo,
            restart=False,
            _job_id=backfill_job_id(repo),
            **tracing.job_kwargs(),
        )
        queued += job is not None
    return queued
