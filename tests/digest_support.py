"""GitHub's side of a weekly digest, on respx: the App's installations and repositories, pull request and
issue lists shaped like the REST API's (built from the webhook fixtures' objects, which are the same), the
search API's counts, issues created and edited, and Discussions over GraphQL."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import respx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.models import DuplicateFeedbackRow, RunRow, TransitionRow
from tests.github_mock import API, BOT_LOGIN, TOKEN, user

EXAMPLES = Path(__file__).parent / "fixtures" / "webhooks" / "examples"
OWNER, NAME = "Codertocat", "Hello-World"
FULL = f"{OWNER}/{NAME}"
WEB = f"https://github.com/{FULL}"
NOW = datetime(2026, 11, 30, 8, 2, tzinfo=UTC)
"""Monday 2026-11-30 09:02 in Paris: two minutes after the configured moment (Monday 09:00, Europe/Paris)."""
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CONFIG = "digest:\n  enabled: true\n  day: monday\n  hour: 9\n  timezone: Europe/Paris\n"


def _example(event: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / event / name).read_text())
    return data


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def pull(
    number: int,
    title: str,
    author: str,
    *,
    created: datetime,
    updated: datetime,
    merged: datetime | None = None,
    closed: datetime | None = None,
    association: str = "CONTRIBUTOR",
    reviewers: tuple[str, ...] = (),
    teams: tuple[str, ...] = (),
    draft: bool = False,
) -> dict[str, Any]:
    """A pull request as `GET /repos/{o}/{r}/pulls` lists it (the webhook's pull_request object)."""
    data = copy.deepcopy(_example("pull_request", "closed.payload.json")["pull_request"])
    data.update(
        number=number,
        id=1_000_000 + number,
        title=title,
        html_url=f"{WEB}/pull/{number}",
        url=f"{API}/repos/{FULL}/pulls/{number}",
        user=user(author, uid=number),
        created_at=stamp(created),
        updated_at=stamp(updated),
        merged_at=stamp(merged) if merged else None,
        closed_at=stamp(closed or merged) if (closed or merged) else None,
        state="closed" if (closed or merged) else "open",
        author_association=association,
        requested_reviewers=[user(login, uid=7) for login in reviewers],
        requested_teams=[
            {"id": 9, "node_id": "T_9", "name": slug, "slug": slug, "privacy": "closed"} for slug in teams
        ],
        draft=draft,
    )
    for key in ("merged", "mergeable", "rebaseable", "mergeable_state", "comments", "commits", "additions"):
        data.pop(key, None)  # only the single pull request's endpoint has these
    return data


def issue(
    number: int,
    title: str,
    author: str,
    *,
    created: datetime,
    updated: datetime,
    closed: datetime | None = None,
    reason: str | None = None,
    body: str = "",
    is_pull: bool = False,
) -> dict[str, Any]:
    """An issue as `GET /repos/{o}/{r}/issues` lists it (the webhook's issue object)."""
    data = copy.deepcopy(_example("issues", "opened.payload.json")["issue"])
    data.update(
        number=number,
        id=2_000_000 + number,
        title=title,
        body=body,
        html_url=f"{WEB}/issues/{number}",
        user=user(author, bot=author.endswith("[bot]"), uid=number),
        created_at=stamp(created),
        updated_at=stamp(updated),
        closed_at=stamp(closed) if closed else None,
        state="closed" if closed else "open",
        state_reason=reason,
    )
    if is_pull:
        data["pull_request"] = {"url": f"{API}/repos/{FULL}/pulls/{number}", "merged_at": None}
    return data


def day(d: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, d, hour, tzinfo=UTC)


def week_pulls() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(closed, open) pull requests around the week of 2026-11-23."""
    closed = [
        pull(103, "Closed without merging", "Codertocat", created=day(20), updated=day(27), closed=day(27)),
        pull(
            102,
            "Bump the version",
            "Codertocat",
            created=day(24),
            updated=day(26),
            merged=day(26),
            association="OWNER",
        ),
        pull(
            101,
            "Fix @octocat's typo, fixes #5 <img src=x>",
            "newbie",
            created=day(24),
            updated=day(25),
            merged=day(25),
        ),
        pull(
            90, "Old work", "Codertocat", created=day(1), updated=day(12), merged=day(10), association="OWNER"
        ),
    ]
    opened = [
        pull(
            80,
            "Rewrite the parser",
            "octo-dev",
            created=datetime(2026, 10, 1, tzinfo=UTC),
            updated=datetime(2026, 10, 5, tzinfo=UTC),
            reviewers=("octocat",),
            teams=("core",),
        ),
        pull(
            104,
            "Add a flag cc @Codertocat/owners",
            "firsty",
            created=day(27),
            updated=day(28),
            association="FIRST_TIME_CONTRIBUTOR",
            reviewers=("octocat",),
        ),
        pull(
            105, "Draft idea", "octo-dev", created=day(26), updated=day(27), reviewers=("hubot",), draft=True
        ),
    ]
    return closed, opened


def week_issues() -> list[dict[str, Any]]:
    return [
        issue(
            112,
            "Not a bug",
            "someone",
            created=day(25),
            updated=day(26),
            closed=day(26),
            reason="not_planned",
        ),
        issue(
            110,
            "Crash when @security-team runs <script>x</script>",
            "someone",
            created=day(24),
            updated=day(24),
        ),
        issue(
            111, "Old crash", "someone", created=day(1), updated=day(28), closed=day(28), reason="completed"
        ),
        issue(104, "Add a flag", "firsty", created=day(27), updated=day(28), is_pull=True),
    ]


class DigestGitHub:
    """One installation with one repository, and what the digest reads and writes there."""

    def __init__(self, config: str = CONFIG) -> None:
        self.config = config
        self.closed, self.open = week_pulls()
        self.issues = week_issues()
        self.merged_counts = {"newbie": 1, "Codertocat": 40}
        self.created: list[dict[str, Any]] = []
        self.patched: list[tuple[int, dict[str, Any]]] = []
        self.discussions: list[dict[str, Any]] = []
        self.discussion_updates: list[dict[str, Any]] = []
        self.categories = [{"id": "DIC_kwDOA", "name": "Announcements"}, {"id": "DIC_kwDOB", "name": "Q&A"}]
        self.token_bodies: list[dict[str, Any]] = []
        self.writes: list[str] = []
        self.create_delay = 0.0
        self.search_limited = False
        installation = _example("installation", "created.payload.json")["installation"]
        self.installation = {**installation, "suspended_at": None}
        self.repository = _example("issues", "opened.payload.json")["repository"]
        self.installations = [self.installation]
        self.repository_pages = [[self.repository]]
        """Pages of `GET /installation/repositories`, served behind `page` links."""
        self.listed: list[str] = []

    # routes

    def install(self, router: respx.MockRouter) -> respx.MockRouter:
        base = f"{API}/repos/{FULL}"
        router.get(f"{API}/app/installations").mock(
            side_effect=lambda _: httpx.Response(200, json=self.installations)
        )
        router.post(url__regex=rf"{API}/app/installations/\d+/access_tokens").mock(side_effect=self._token)
        router.get(f"{API}/installation/repositories").mock(side_effect=self._repositories)
        router.get(url__regex=rf"{API}/repos/octo-org/[\w-]+/contents/\.github/steward\.yml").mock(
            return_value=httpx.Response(404, json={"message": "Not Found"})
        )
        router.get(f"{base}/installation").mock(return_value=httpx.Response(200, json=self.installation))
        router.get(f"{base}/contents/.github/steward.yml").mock(side_effect=self._config)
        router.get(f"{base}/pulls").mock(side_effect=self._pulls)
        router.get(f"{base}/issues").mock(side_effect=self._issues)
        router.post(f"{base}/issues").mock(side_effect=self._create)
        router.get(url__regex=rf"{base}/issues/\d+$").mock(side_effect=self._get_issue)
        router.patch(url__regex=rf"{base}/issues/\d+$").mock(side_effect=self._patch)
        router.get(f"{API}/search/issues").mock(side_effect=self._search)
        router.post(f"{API}/graphql").mock(side_effect=self._graphql)
        return router

    def _repositories(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        self.listed.append(f"repositories page {page}")
        headers = {}
        if page < len(self.repository_pages):
            headers["link"] = f'<{API}/installation/repositories?per_page=100&page={page + 1}>; rel="next"'
        total = sum(map(len, self.repository_pages))
        items = self.repository_pages[page - 1]
        body = {"total_count": total, "repository_selection": "selected", "repositories": items}
        return httpx.Response(200, json=body, headers=headers)

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_bodies.append(json.loads(request.content))
        return httpx.Response(
            201, json={"token": TOKEN, "expires_at": "2099-01-01T00:00:00Z", "permissions": {}}
        )

    def _config(self, request: httpx.Request) -> httpx.Response:
        content = base64.b64encode(self.config.encode()).decode()
        sha = f"{abs(hash(self.config)):040x}"[:40]
        return httpx.Response(
            200,
            json={
                "type": "file",
                "name": "steward.yml",
                "path": ".github/steward.yml",
                "sha": sha,
                "content": content,
                "encoding": "base64",
            },
        )

    def _pulls(self, request: httpx.Request) -> httpx.Response:
        state = request.url.params.get("state")
        return httpx.Response(200, json=self.closed if state == "closed" else self.open)

    def _issues(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("sort") == "created":  # the marker search: newest first
            return httpx.Response(200, json=list(reversed(self.created)) + self.issues)
        return httpx.Response(200, json=self.issues)

    async def _create(self, request: httpx.Request) -> httpx.Response:
        self.writes.append("POST issues")
        await asyncio.sleep(self.create_delay)  # GitHub taking its time: a second pass overlaps this one
        payload = json.loads(request.content)
        number = 200 + len(self.created)
        made = issue(number, payload["title"], BOT_LOGIN, created=NOW, updated=NOW, body=payload["body"])
        self.created.append(made)
        return httpx.Response(201, json=made)

    def _found(self, request: httpx.Request) -> dict[str, Any] | None:
        number = int(request.url.path.rsplit("/", 1)[1])
        return next((i for i in self.created if i["number"] == number), None)

    def _get_issue(self, request: httpx.Request) -> httpx.Response:
        found = self._found(request)
        return (
            httpx.Response(200, json=found) if found else httpx.Response(404, json={"message": "Not Found"})
        )

    def _patch(self, request: httpx.Request) -> httpx.Response:
        self.writes.append("PATCH issue")
        found = self._found(request)
        if found is None:
            return httpx.Response(404, json={"message": "Not Found"})
        payload = json.loads(request.content)
        found.update(payload)
        self.patched.append((found["number"], payload))
        return httpx.Response(200, json=found)

    def _search(self, request: httpx.Request) -> httpx.Response:
        if self.search_limited:  # the search API's own limit (30 a minute), as GitHub answers it
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
            )
            return httpx.Response(403, json={"message": message}, headers={"retry-after": "60"})
        login = re.search(r"author:(\S+)", request.url.params["q"])
        total = self.merged_counts.get(login.group(1) if login else "", 0)
        return httpx.Response(200, json={"total_count": total, "incomplete_results": False, "items": []})

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        query, variables = payload["query"], payload["variables"]
        if "createDiscussion" in query:
            self.writes.append("createDiscussion")
            number = 300 + len(self.discussions)
            made = {"id": f"D_kwDO{number}", "number": number, "url": f"{WEB}/discussions/{number}"}
            self.discussions.append(
                {**made, "body": variables["body"], "author": {"login": "steward"}, **variables}
            )
            return httpx.Response(200, json={"data": {"createDiscussion": {"discussion": made}}})
        if "updateDiscussion" in query:
            self.writes.append("updateDiscussion")
            self.discussion_updates.append(variables)
            found = next(d for d in self.discussions if d["id"] == variables["discussionId"])
            found["body"] = variables["body"]
            made = {"id": found["id"], "number": found["number"], "url": found["url"]}
            return httpx.Response(200, json={"data": {"updateDiscussion": {"discussion": made}}})
        if "discussionCategories" in query:
            repository = {
                "id": "R_kgDOA",
                "hasDiscussionsEnabled": True,
                "discussionCategories": {"nodes": self.categories},
            }
            return httpx.Response(200, json={"data": {"repository": repository}})
        if "discussions(" in query:
            nodes = list(reversed(self.discussions))
            return httpx.Response(200, json={"data": {"repository": {"discussions": {"nodes": nodes}}}})
        return httpx.Response(200, json={"errors": [{"message": "unexpected query"}]})


async def seed_ledger(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Steward's own week: a docs run proposed, one merged, one waiting for approval, a triage that flagged a
    duplicate, and two judgements by maintainers (closed as duplicate; not a duplicate)."""

    def run(rid: str, number: int, workflow: str, state: str, at: datetime, **fields: Any) -> RunRow:
        fields.setdefault("repo", FULL)
        return RunRow(
            id=rid,
            number=number,
            workflow=workflow,
            state=state,
            created_at=at,
            updated_at=at,
            **fields,
        )

    async with sessions() as session:
        session.add_all(
            [
                run(
                    "r-proposed",
                    110,
                    "docs",
                    "proposed",
                    day(24),
                    pr_number=120,
                    pr_url=f"{WEB}/pull/120",
                    model_tokens=12_000,
                    cost_usd=0.25,
                ),
                run(
                    "r-merged",
                    111,
                    "tests",
                    "merged",
                    day(24, 13),
                    pr_number=121,
                    pr_url=f"{WEB}/pull/121",
                    model_tokens=345,
                    cost_usd=0.01,
                ),
                run("r-waiting", 112, "docs", "awaiting_approval", day(27), plan_comment_id=555),
                run("r-triage", 110, "duplicates", "closed", day(24, 14)),
                run(
                    "r-old",
                    90,
                    "docs",
                    "merged",
                    day(1),
                    pr_number=91,
                    pr_url=f"{WEB}/pull/91",
                    model_tokens=999_999,
                ),
                run("r-elsewhere", 1, "docs", "proposed", day(24), repo="other/repo", model_tokens=777),
                run(
                    "r-shadow",
                    113,
                    "docs",
                    "closed",
                    day(25),
                    mode="shadow",
                    model_tokens=55_555,
                    cost_usd=9.0,
                ),
                run("r-shadow-wait", 114, "docs", "awaiting_approval", day(25), mode="shadow"),
            ]
        )
        await session.flush()
        session.add_all(
            [
                TransitionRow(run_id="r-proposed", from_state="running", to_state="proposed", at=day(24, 15)),
                TransitionRow(
                    run_id="r-elsewhere", from_state="running", to_state="proposed", at=day(24, 15)
                ),
                TransitionRow(run_id="r-shadow", from_state="running", to_state="closed", at=day(25, 1)),
                TransitionRow(run_id="r-merged", from_state="running", to_state="proposed", at=day(25)),
                TransitionRow(run_id="r-merged", from_state="proposed", to_state="merged", at=day(26)),
                TransitionRow(
                    run_id="r-waiting", from_state="planning", to_state="awaiting_approval", at=day(27)
                ),
                TransitionRow(
                    run_id="r-triage",
                    from_state="running",
                    to_state="closed",
                    at=day(24, 14),
                    reason="suggested #7 (0.83)",
                ),
                TransitionRow(run_id="r-old", from_state="proposed", to_state="merged", at=day(2)),
                DuplicateFeedbackRow(
                    repo=FULL,
                    number=111,
                    other=3,
                    duplicate=True,
                    source="close_reason",
                    actor="Codertocat",
                    created_at=day(28),
                ),
                DuplicateFeedbackRow(
                    repo=FULL,
                    number=110,
                    other=7,
                    duplicate=False,
                    source="command",
                    actor="Codertocat",
                    created_at=day(25),
                ),
            ]
        )
        await session.commit()


def since_start(hours: int) -> datetime:
    return START + timedelta(hours=hours)
