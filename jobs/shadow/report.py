"""`steward shadow report`: the shadow records and the ledger, scored against what became of each item."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from app.config.loader import load_repo_config
from app.github.errors import GitHubRefused, GitHubUnavailable
from app.github.protocol import GitHubClient, IssueRecord, PullRef, RepoId
from jobs.duplicates import store as index
from jobs.ledger import Ledger, RunState
from jobs.plan import Plan
from jobs.shadow.scoring import DocsCase, DuplicateCase, ItemAfter, judge_docs, judge_duplicate
from jobs.shadow.store import TRIAGE_SCOPE, Sessions, ShadowRecord, records
from jobs.shadow.suggestions import KIND as SUGGESTIONS

CHANGELOG_STEP = "changelog"
LINKED_MAX = 5
"""Pull requests of an issue read (its timeline's cross-references), at most."""
FILES_MAX = 300
"""Files of one pull request read, at most (three pages)."""
RECORDS_MAX = 20_000
"""Shadow records read from the ledger, at most (the items scored are bounded by --limit)."""
FAILED = {RunState.FAILED, RunState.CANCELLED}


class ReportGitHub(GitHubClient, Protocol):
    """The reads the report makes: the item, its pull requests and their files."""

    async def get_issue(self, repo: RepoId, number: int) -> IssueRecord: ...

    async def get_pull(self, repo: RepoId, number: int) -> PullRef: ...

    async def linked_pulls(self, repo: RepoId, number: int, limit: int) -> list[int]: ...


Clients = Callable[[str], Awaitable["ReportGitHub | str"]]
"""A repository's client, or why there is none (the App is not installed there...)."""


@dataclass
class Report:
    since: datetime
    repo: str | None
    duplicates: list[DuplicateCase] = field(default_factory=list)
    docs: list[DocsCase] = field(default_factory=list)
    others: dict[str, int] = field(default_factory=dict)
    """Shadow runs of workflows the report does not score (tests...), counted."""
    left_out: int = 0
    """Items past --limit, not scored."""


def _why(exc: Exception) -> str:
    if isinstance(exc, GitHubRefused) and exc.status == 404:
        return "not found on GitHub"
    return f"not read: {exc}"[:200]


class _Repos:
    """One client per repository, asked for once."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._got: dict[str, ReportGitHub | str] = {}
        self._changelogs: dict[str, str] = {}

    async def client(self, repo: str) -> ReportGitHub | str:
        if repo not in self._got:
            try:
                self._got[repo] = await self._clients(repo)
            except (GitHubRefused, GitHubUnavailable) as exc:
                self._got[repo] = _why(exc)
        return self._got[repo]

    async def changelog(self, gh: ReportGitHub, repo: str) -> str:
        if repo not in self._changelogs:
            self._changelogs[repo] = (
                await load_repo_config(gh, RepoId.parse(repo))
            ).config.workflows.docs.changelog
        return self._changelogs[repo]


async def _after(sessions: Sessions, gh: ReportGitHub, repo: str, number: int) -> ItemAfter | str:
    try:
        item = await gh.get_issue(RepoId.parse(repo), number)
    except (GitHubRefused, GitHubUnavailable) as exc:
        return _why(exc)
    indexed = await index.get_item(sessions, repo, number)
    return ItemAfter(
        state=item.state,
        state_reason=item.state_reason,
        labels=tuple(item.labels),
        verdicts=await index.feedback_for(sessions, repo, number),
        duplicate_of=indexed.duplicate_of if indexed is not None else None,
    )


async def _duplicate(sessions: Sessions, repos: _Repos, record: ShadowRecord) -> DuplicateCase:
    shown = tuple(int(n) for n in record.data.get("shown", []))
    scores = {int(c["number"]): float(c["score"]) for c in record.data.get("candidates", [])}
    gh = await repos.client(record.repo)
    after = gh if isinstance(gh, str) else await _after(sessions, gh, record.repo, record.number)
    return judge_duplicate(record.repo, record.number, shown, scores, after, record.data.get("label"))


def proposed_entry(plan: Plan | None) -> str | None:
    """The changelog line the run's plan added (its `changelog` step, done), or None."""
    for step in plan.steps if plan is not None else []:
        if step.id == CHANGELOG_STEP and step.result == "done":
            return step.detail or step.title
    return None


async def _by_hand(
    gh: ReportGitHub, repo: RepoId, item: IssueRecord, changelog: str
) -> tuple[bool | None, tuple[int, ...]]:
    """Whether a merged pull request for the item changed the changelog (None: none merged yet)."""
    numbers = [item.number] if item.is_pull_request else await gh.linked_pulls(repo, item.number, LINKED_MAX)
    merged = [n for n in numbers if (await gh.get_pull(repo, n)).merged]
    if not merged:
        return None, tuple(numbers)
    for number in merged:
        if changelog in await gh.pull_files(repo, number, FILES_MAX):
            return True, tuple(merged)
    return False, tuple(merged)


async def _docs(ledger: Ledger, repos: _Repos, repo: str, number: int, run_id: str) -> DocsCase:
    run = await ledger.get_run(run_id)
    if run is None:
        return judge_docs(repo, number, run_id, None, None, (), "the run is no longer in the ledger")
    entry = proposed_entry(run.plan)
    if run.state in FAILED:
        return judge_docs(repo, number, run_id, entry, None, (), f"the shadow run {run.state.value}")
    gh = await repos.client(repo)
    if isinstance(gh, str):
        return judge_docs(repo, number, run_id, entry, None, (), gh)
    try:
        item = await gh.get_issue(RepoId.parse(repo), number)
        by_hand, pulls = await _by_hand(gh, RepoId.parse(repo), item, await repos.changelog(gh, repo))
    except (GitHubRefused, GitHubUnavailable) as exc:
        return judge_docs(repo, number, run_id, entry, None, (), _why(exc))
    return judge_docs(repo, number, run_id, entry, by_hand, pulls)


async def build_report(
    ledger: Ledger, sessions: Sessions, clients: Clients, *, since: datetime, repo: str | None, limit: int
) -> Report:
    """Every shadow item since `since` (at most `limit` of them read on GitHub), scored."""
    report = Report(since=since, repo=repo)
    found = await records(sessions, repo=repo, since=since, limit=RECORDS_MAX)
    repos = _Repos(clients)
    budget = limit
    triaged = [
        r for r in found if r.workflow == "duplicates" and r.scope == TRIAGE_SCOPE and r.kind == SUGGESTIONS
    ]
    for record in triaged:
        if budget <= 0:
            report.left_out += 1
            continue
        budget -= 1
        report.duplicates.append(await _duplicate(sessions, repos, record))
    runs: dict[str, tuple[str, str, int]] = {}
    for record in found:
        if record.scope != TRIAGE_SCOPE:
            runs.setdefault(record.scope, (record.workflow, record.repo, record.number))
    for run_id, (workflow, where, number) in runs.items():
        if workflow != "docs":
            report.others[workflow] = report.others.get(workflow, 0) + 1
        elif budget <= 0:
            report.left_out += 1
        else:
            budget -= 1
            report.docs.append(await _docs(ledger, repos, where, number, run_id))
    return report


_SINCE = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


def parse_since(text: str) -> int:
    """`30d`, `12h`, `2w` as hours; ValueError with what is accepted otherwise."""
    match = _SINCE.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"expected a duration like 30d, 12h or 2w (hours, days or weeks), got {text!r}")
    return int(match.group(1)) * _UNIT_HOURS[match.group(2)]
