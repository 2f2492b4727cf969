"""The weekly review digest: its content on real-shaped GitHub lists (respx) and a real ledger (SQLite and
PostgreSQL), one issue per week that a rerun edits, Discussions over GraphQL, mentions defused, the bound."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.config.loader import parse_config
from app.config.model import DigestConfig
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.digest.facts import GitHubFacts, Item, LedgerFacts
from jobs.digest.render import Digest, render
from jobs.digest.window import Window, due, parse_since, scheduled
from jobs.models.digests import DigestRow
from jobs.scheduled.digest import digest_pass
from tests.digest_support import CONFIG, FULL, NOW, START, WEB, DigestGitHub, day, pull, seed_ledger
from tests.github_mock import BOT_LOGIN
from tests.postgres import db_url  # noqa: F401  (the fixture, over SQLite and PostgreSQL)

pytestmark = pytest.mark.anyio
CODE = re.compile(r"(`+)(?:.+?)\1")


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Any]:  # noqa: F811
    engine = make_engine(db_url)
    await migrate(engine)
    yield sessions(engine)
    await engine.dispose()


async def run_pass(settings: Settings, ledger: Any, github: DigestGitHub, **kw: Any) -> str:
    import respx

    with github.install(respx.mock(assert_all_called=False)):
        return await digest_pass(settings, ledger, **{"now": NOW, **kw})


def section(body: str, title: str) -> str:
    """The lines of one `### title...` section."""
    found = re.search(rf"^### {re.escape(title)}[^\n]*\n(.*?)(?=^### |\Z)", body, re.M | re.S)
    assert found is not None, f"no section {title!r} in:\n{body}"
    return found.group(0)


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[#(\d+)\]\(", text)]


async def test_the_digest_says_what_happened_and_links_every_count(settings: Settings, ledger: Any) -> None:
    await seed_ledger(ledger)
    github = DigestGitHub()
    summary = await run_pass(settings, ledger, github)
    assert summary.startswith("1 repositories read: 1 digests published"), summary
    [made] = github.created
    assert made["title"] == "Weekly review: 2026-W49"
    body = made["body"]
    assert body.startswith("<!-- steward:digest:2026-W49 -->\n")

    merged = section(body, "Pull requests merged")
    assert numbers(merged) == [101, 102]  # not #103 (closed unmerged) nor #90 (merged before the week)
    link = re.search(r"merged: \[2\]\((\S+)\)", merged)
    assert link is not None
    query = parse_qs(urlsplit(link.group(1)).query)["q"][0]
    assert query == "is:pr is:merged merged:2026-11-23T08:00:00Z..2026-11-30T08:00:00Z"
    assert f"[#101]({WEB}/pull/101)" in merged and "by newbie" in merged

    assert numbers(section(body, "Issues opened")) == [
        110,
        112,
    ]  # the pull request in the issue list left out
    closed = section(body, "Issues closed")
    assert numbers(closed) == [112, 111] and "not planned" in closed.split("\n")[2]
    assert re.search(r"Issues closed: \[2\]\(\S+closed%3A2026-11-23T08%3A00%3A00Z", closed)

    waiting = section(body, "Waiting longest for review")
    assert numbers(waiting) == [80, 104]  # oldest first; the draft #105 is not waiting
    assert "(60 days)" in waiting
    assert numbers(section(body, "Stale pull requests (no update for 14 days)")) == [80]
    first = section(body, "First-time contributors: 2")
    assert "newbie: [#101]" in first and "firsty: [#104]" in first and "- Codertocat" not in first

    blocked = section(body, "Blocked on whom")
    assert "[#104]" in blocked
    person = re.search(r"review by octocat: \[2\]\((\S+)\) \(\[#80\]", blocked)
    team = re.search(r"review by Codertocat/core: \[1\]\((\S+)\) \(\[#80\]", blocked)
    assert person is not None and team is not None, blocked
    assert parse_qs(urlsplit(person.group(1)).query)["q"] == [
        "is:pr is:open draft:false user-review-requested:octocat"
    ]
    assert parse_qs(urlsplit(team.group(1)).query)["q"] == [
        "is:pr is:open draft:false team-review-requested:Codertocat/core"
    ]
    assert f"`/steward approve`: 1 ([#112]({WEB}/issues/112#issuecomment-555))" in blocked

    runs = section(body, "Steward's own runs")
    assert (
        "3 runs started, 12,345 model tokens, cost 0.26." in runs
    )  # not the old run, other/repo's, a shadow
    assert (
        "r-shadow" not in body and "#113" not in body and "#114" not in body
    )  # shadow runs stay unpublished
    assert f"Proposed: 2 ([#120]({WEB}/pull/120), [#121]({WEB}/pull/121))" in runs
    assert f"Merged: 1 ([#121]({WEB}/pull/121))" in runs
    dupes = section(body, "Duplicates")
    assert f"Flagged by Steward: 1 ([#110]({WEB}/issues/110))" in dupes
    assert f"Closed as duplicates: 1 ([#111]({WEB}/issues/111))" in dupes
    assert f"Said not to be duplicates: 1 ([#110]({WEB}/issues/110))" in dupes

    # Least privilege: the pass lists with a read-only token, and writes with one scoped to this repository.
    wide, scoped = github.token_bodies
    assert wide == {"permissions": {"contents": "read", "metadata": "read"}}
    assert scoped["repositories"] == ["Hello-World"] and scoped["permissions"]["issues"] == "write"


async def test_the_digest_pings_nobody(settings: Settings, ledger: Any) -> None:
    github = DigestGitHub()
    await run_pass(settings, ledger, github)
    body = github.created[0]["body"]
    outside_code = CODE.sub("", body)
    assert not re.search(r"@[\w-]", outside_code), (
        outside_code
    )  # @octocat, @security-team, @Codertocat/owners
    assert "`@octocat`" in body and "`@security-team`" in body and "`@Codertocat/owners`" in body
    assert "<img" not in body and "<script" not in body
    assert not re.search(r"(?<![\[`\w])#5\b", outside_code)  # `fixes #5` would cross-reference (and close) #5


async def test_a_rerun_edits_the_same_issue_and_never_opens_another(settings: Settings, ledger: Any) -> None:
    github = DigestGitHub()
    first = await run_pass(settings, ledger, github)
    unchanged = await run_pass(settings, ledger, github, now=NOW + timedelta(minutes=20))
    # A pull request merged late in the week, seen by a retried pass in the hour: the same issue is edited.
    github.closed.insert(
        0, pull(106, "Late fix", "Codertocat", created=day(29), updated=day(29), merged=day(29))
    )
    edited = await run_pass(settings, ledger, github, now=NOW + timedelta(minutes=40))
    assert "1 digests published" in first and "1 edited" in unchanged and "1 edited" in edited
    assert github.writes == ["POST issues", "PATCH issue"]
    [made] = github.created
    [(number, patch)] = github.patched
    assert number == made["number"] and patch["title"] == "Weekly review: 2026-W49"
    assert numbers(section(patch["body"], "Pull requests merged")) == [101, 102, 106]
    # Once its hour is over, the week's digest is left alone; next week's gets an issue of its own.
    later = await run_pass(settings, ledger, github, now=NOW + timedelta(days=3))
    assert later.startswith("1 repositories read: 0 digests published, 0 edited") and len(github.writes) == 2
    await run_pass(settings, ledger, github, now=NOW + timedelta(days=7))
    assert [i["title"] for i in github.created] == ["Weekly review: 2026-W49", "Weekly review: 2026-W50"]
    async with ledger() as session:
        rows = (await session.scalars(select(DigestRow).order_by(DigestRow.week))).all()
    assert [(r.week, r.kind, r.number) for r in rows] == [
        ("2026-W49", "issue", 200),
        ("2026-W50", "issue", 201),
    ]


async def test_a_pass_that_died_before_recording_finds_its_issue_by_the_marker(
    settings: Settings, ledger: Any
) -> None:
    github = DigestGitHub()
    await run_pass(settings, ledger, github)
    impostor = dict(github.created[0], number=7, user={"login": "mallory", "type": "User"})
    github.issues.insert(0, impostor)  # someone else's issue with the marker copied in: never taken
    async with ledger() as session:  # as if the pass died after GitHub's answer, before recording it
        row = await session.scalar(select(DigestRow))
        assert row is not None
        row.number, row.created_at = None, NOW - timedelta(minutes=30)
        await session.commit()
    github.closed.insert(
        0, pull(106, "Late fix", "Codertocat", created=day(29), updated=day(29), merged=day(29))
    )
    await run_pass(settings, ledger, github, now=NOW + timedelta(minutes=30))
    assert github.writes == ["POST issues", "PATCH issue"] and github.patched[0][0] == 200


async def test_a_deleted_digest_is_published_again_once(settings: Settings, ledger: Any) -> None:
    github = DigestGitHub()
    await run_pass(settings, ledger, github)
    github.created.clear()  # an admin deleted the issue
    await run_pass(settings, ledger, github, now=NOW + timedelta(minutes=10))
    await run_pass(settings, ledger, github, now=NOW + timedelta(minutes=20))
    assert github.writes == ["POST issues", "POST issues"]  # the third pass found the new one: unchanged
    async with ledger() as session:
        [row] = (await session.scalars(select(DigestRow))).all()
    assert row.number == github.created[0]["number"] == 200  # the fake numbers from 200 again


async def test_a_rate_limited_search_only_leaves_out_what_it_would_tell(
    settings: Settings, ledger: Any
) -> None:
    github = DigestGitHub()
    github.search_limited = True
    await run_pass(settings, ledger, github)
    first = section(github.created[0]["body"], "First-time contributors: 1")
    assert "firsty" in first and "newbie" not in first  # unknown is not claimed


async def test_a_fresh_claim_without_a_number_is_another_pass_at_work(
    settings: Settings, ledger: Any
) -> None:
    async with ledger() as session:
        session.add(
            DigestRow(repo=FULL, week="2026-W49", kind="issue", created_at=NOW - timedelta(minutes=1))
        )
        await session.commit()
    github = DigestGitHub()
    await run_pass(settings, ledger, github)
    assert github.writes == []


async def test_a_discussion_where_the_repository_names_a_category(settings: Settings, ledger: Any) -> None:
    github = DigestGitHub(CONFIG + "  discussion: announcements\n")
    await run_pass(settings, ledger, github)
    github.closed.insert(
        0, pull(106, "Late fix", "Codertocat", created=day(29), updated=day(29), merged=day(29))
    )
    await run_pass(settings, ledger, github, now=NOW + timedelta(minutes=30))
    assert github.writes == ["createDiscussion", "updateDiscussion"] and github.created == []
    [made] = github.discussions
    assert (
        made["categoryId"] == "DIC_kwDOA" and made["repositoryId"] == "R_kgDOA"
    )  # matched case-insensitively
    assert made["title"] == "Weekly review: 2026-W49"
    assert github.discussion_updates[0]["discussionId"] == made["id"]
    assert github.token_bodies[1]["permissions"]["discussions"] == "write"


async def test_an_unknown_category_is_told_and_posts_nothing(
    settings: Settings, ledger: Any, caplog: pytest.LogCaptureFixture
) -> None:
    github = DigestGitHub(CONFIG + "  discussion: Weekly\n")
    with caplog.at_level(logging.WARNING):
        summary = await run_pass(settings, ledger, github)
    assert "1 failed" in summary and github.writes == []
    assert "has no Discussion category 'Weekly' (it has: Announcements, Q&A)" in caplog.text


def other(name: str, **fields: Any) -> dict[str, Any]:
    """Another repository of the installation, as `GET /installation/repositories` lists it."""
    base = DigestGitHub().repository
    return {**base, "id": 5000 + len(name), "name": name, "full_name": f"octo-org/{name}", **fields}


async def test_installations_and_repositories_are_paged_and_bounded(settings: Settings, ledger: Any) -> None:
    github = DigestGitHub()
    suspended = {**github.installation, "id": 42, "suspended_at": "2026-11-01T00:00:00Z"}
    github.installations = [suspended, github.installation]
    github.repository_pages = [[other("archived", archived=True), other("plain")], [github.repository]]
    summary = await run_pass(settings, ledger, github)
    assert summary.startswith("2 repositories read: 1 digests published"), summary  # the archived one skipped
    assert github.listed == ["repositories page 1", "repositories page 2"]
    assert len(github.token_bodies) == 2  # none for the suspended installation; one list, one write token
    github = DigestGitHub()
    github.repository_pages = [[other("plain")], [github.repository]]
    one = settings.model_copy(update={"digest_max_repositories": 1})
    summary = await run_pass(one, ledger, github)
    assert summary.endswith("(repository bound reached)") and github.listed == ["repositories page 1"]
    assert github.writes == []


@pytest.mark.parametrize(
    ("config", "now"),
    [
        (CONFIG, NOW - timedelta(minutes=5)),  # 08:57 in Paris: not yet
        ("digest: {enabled: false}\n", NOW),
        ("", NOW),  # no configuration: off
        (CONFIG.replace("hour: 9", "hour: 25"), NOW),  # invalid: the defaults, off
    ],
)
async def test_nothing_is_published_unless_asked_for_now(
    settings: Settings, ledger: Any, config: str, now: Any
) -> None:
    github = DigestGitHub(config)
    await run_pass(settings, ledger, github, now=now)
    assert github.writes == []


def test_the_window_follows_the_repositorys_day_hour_and_zone() -> None:
    paris = DigestConfig(enabled=True, day="monday", hour=9, timezone="Europe/Paris")
    window = scheduled(paris, NOW)
    assert (window.start, window.end, window.week) == (START, START + timedelta(days=7), "2026-W49")
    assert due(paris, NOW - timedelta(minutes=5)) is None and due(paris, NOW) == window
    # Sunday 23:00 in Honolulu is Monday 09:00 UTC: the week is Honolulu's (W49), not UTC's next one.
    honolulu = DigestConfig(enabled=True, day="sunday", hour=23, timezone="Pacific/Honolulu")
    late = scheduled(honolulu, NOW + timedelta(days=7))
    assert late.week == "2026-W49" and late.end.isoformat() == "2026-12-07T09:00:00+00:00"
    # A spring-forward gap hour (02:00 does not exist in New York on 2027-03-14) still gives one moment.
    gap = DigestConfig(enabled=True, day="sunday", hour=2, timezone="America/New_York")
    assert scheduled(gap, datetime_utc(2027, 3, 14, 12)).week == "2027-W10"


def datetime_utc(*parts: int) -> Any:
    from datetime import UTC, datetime

    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("digest: {day: funday}", "input should be 'monday', 'tuesday'"),
        ("digest: {hour: 24}", "less than or equal to 23"),
        ("digest: {hour: -1}", "greater than or equal to 0"),
        ("digest: {timezone: Mars/Olympus}", "unknown time zone 'Mars/Olympus'; use an IANA name"),
        ("digest: {timezone: ../../etc/passwd}", "unknown time zone '../../etc/passwd'"),
        ("digest: {discussion: ''}", "at least 1 character"),
        ("digest: {enabled: yes please}", "valid boolean"),
    ],
)
def test_bad_digest_settings_get_clear_errors(text: str, error: str) -> None:
    result = parse_config(text)
    [problem] = result.errors
    assert problem.field.startswith("digest.") and problem.line == 1 and error in problem.message, problem
    assert result.config.digest.enabled is False


def test_since_accepts_hours_days_weeks_and_nothing_else() -> None:
    assert parse_since("7d") == timedelta(days=7) and parse_since("36h") == timedelta(hours=36)
    assert parse_since("2w") == timedelta(days=14)
    for bad in ("", "7", "7 days", "-7d", "0d", "1.5d", "7y", "91d"):
        with pytest.raises(ValueError, match="--since"):
            parse_since(bad)


def test_a_huge_week_fits_githubs_body_limit_and_keeps_its_marker() -> None:
    long = "x" * 400 + " @someone"
    items = [Item(n, f"{long} {n}", f"{WEB}/pull/{n}", "author", START) for n in range(1, 501)]
    facts = GitHubFacts(merged=items, opened=items, closed=items, waiting=items, stale=items)
    facts.reviewers = {f"reviewer-{i}": items for i in range(100)}
    window = Window(START, START + timedelta(days=7), "2026-W49")
    config = DigestConfig(enabled=True, max_items=100)
    body = render(Digest(FULL, window, config, facts, LedgerFacts(flagged=items)))
    assert len(body.encode("utf-16-le")) // 2 <= 65_000
    assert body.startswith("<!-- steward:digest:2026-W49 -->") and "Pull requests merged: [500]" in body
    assert "- and " in body  # the lists say what they left out
    assert BOT_LOGIN not in body
