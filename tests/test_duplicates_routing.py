"""Real payloads through the real router reach the duplicate index: one index_event job per delivery."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.events import IssuesEvent
from app.github.records import issue_record
from app.handlers import build_router
from app.router import Delivery, JobSpec
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.duplicates import semantic, store
from jobs.duplicates.jobs import index_event
from jobs.models.issue_index import FILES_MAX
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub

INSTALLATION = {"id": 4242, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg=="}


def route(settings: Settings, event: str, payload: dict[str, Any], delivery: str = "d-7") -> list[JobSpec]:
    router = build_router(settings)
    parsed = router.model_for(event).model_validate_json(json.dumps(payload))  # as the edge parses a body
    return router.dispatch(Delivery(event, delivery, parsed))


def installed(event: str, name: str) -> dict[str, Any]:
    return {**copy.deepcopy(load_payload(event, name)), "installation": INSTALLATION}


def index_jobs(jobs: list[JobSpec]) -> list[JobSpec]:
    return [job for job in jobs if job.function == "index_event"]


@pytest.mark.parametrize(
    ("event", "name", "kind"),
    [
        ("issues", "edited", "issue"),
        ("issues", "deleted", "issue"),
        ("issues", "transferred", "issue"),
        ("issues", "reopened", "issue"),
        ("issues", "labeled", "issue"),
        ("issues", "unlabeled", "issue"),
        ("pull_request", "closed", "pull_request"),
        ("pull_request", "reopened", "pull_request"),
        ("pull_request", "synchronize", "pull_request"),
    ],
)
def test_item_changes_become_one_index_job(settings: Settings, event: str, name: str, kind: str) -> None:
    payload = installed(event, name)
    [job] = index_jobs(route(settings, event, payload))
    assert job.job_id == "index:d-7"
    assert set(job.kwargs) == {"delivery_id", "event_name", "event"}
    assert job.kwargs["event_name"] == event and job.kwargs["delivery_id"] == "d-7"
    sent = job.kwargs["event"]
    assert sent["action"] == payload["action"]
    assert sent[kind]["number"] == payload[kind]["number"]
    assert sent["repository"]["full_name"] == payload["repository"]["full_name"]
    assert json.loads(json.dumps(sent)) == sent  # JSON-ready, as arq's queue needs


def test_a_transfer_keeps_where_the_issue_went(settings: Settings) -> None:
    payload = installed("issues", "transferred")
    [job] = index_jobs(route(settings, "issues", payload))
    changes = IssuesEvent.model_validate(job.kwargs["event"]).changes or {}
    assert changes["new_repository"]["full_name"] == payload["changes"]["new_repository"]["full_name"]
    assert changes["new_issue"]["number"] == payload["changes"]["new_issue"]["number"]


def test_opened_goes_to_triage_only(settings: Settings) -> None:
    jobs = route(settings, "issues", installed("issues", "opened"))
    assert [job.function for job in jobs] == ["triage_duplicates"]  # triage indexes the new item itself


def test_a_closed_pull_request_also_reaches_the_run_gate_when_it_is_stewards(settings: Settings) -> None:
    payload = installed("pull_request", "closed")
    payload["pull_request"]["head"]["ref"] = "steward/run-1"
    functions = sorted(job.function for job in route(settings, "pull_request", payload))
    assert functions == ["index_event", "pull_closed"]


@pytest.mark.parametrize(
    ("body", "bot", "indexed"),
    [
        ("Duplicate of #3", False, True),
        ("Thanks!\n\nduplicate OF #12", False, True),
        ("Thanks, fixed in #3", False, False),
        ("Duplicate of #3", True, False),  # bot comments never become jobs
    ],
)
def test_only_duplicate_of_comments_reach_the_index(
    settings: Settings, body: str, bot: bool, indexed: bool
) -> None:
    payload = copy.deepcopy(load_payload("issue_comment", "created.with-installation"))
    payload["comment"]["body"] = body
    payload["comment"]["user"].update({"login": "ci[bot]", "type": "Bot"} if bot else {})
    jobs = index_jobs(route(settings, "issue_comment", payload))
    assert len(jobs) == (1 if indexed else 0)
    if indexed:
        assert jobs[0].kwargs["event"]["comment"]["body"] == body


def test_a_delivery_without_installation_is_not_indexed(settings: Settings) -> None:
    assert route(settings, "issues", load_payload("issues", "edited")) == []


@pytest.mark.anyio
async def test_what_the_router_sends_is_enough_to_follow_an_edit_and_a_transfer(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semantic.FORCE_LEXICAL_ENV, "1")  # no model load: the test is about the payload
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}")
    await migrate(engine)
    db = sessions(engine)
    ctx: dict[str, Any] = {"settings": settings, "sessions": db, "job_try": 1}
    try:
        moved = installed("issues", "transferred")
        old_repo, new_repo = moved["repository"]["full_name"], moved["changes"]["new_repository"]["full_name"]
        opened = installed("issues", "opened")
        opened["repository"] = moved["repository"]
        [job] = index_jobs(route(settings, "issues", {**opened, "action": "edited"}, "d-1"))
        with respx.mock(base_url=API, assert_all_called=False) as router:
            fake = FakeGitHub(owner="octo-org", repo="octo-repo")
            fake.install(router)
            outcome = await index_event(ctx, **job.kwargs)
        assert outcome == "indexed #1 (edited); never triaged, so no comment to update"
        assert fake.token_bodies == []  # an item triage never ran on cannot hold its comment: no token
        assert await store.get_item(db, old_repo, 1) is not None

        [job] = index_jobs(route(settings, "issues", moved, "d-2"))
        assert await index_event(ctx, **job.kwargs) == f"transferred #1 to {new_repo}"
        assert await store.get_item(db, old_repo, 1) is None
        row = await store.get_item(db, new_repo, moved["changes"]["new_issue"]["number"])
        assert row is not None and row.title == moved["changes"]["new_issue"]["title"]
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_new_commits_refresh_the_changed_files_the_index_holds(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pull_request.synchronize fetches the files again (one bounded page, as at open time), only for a pull
    request whose files the index holds; a refusal keeps the old ones."""
    monkeypatch.setenv(semantic.FORCE_LEXICAL_ENV, "1")
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}")
    await migrate(engine)
    db = sessions(engine)
    ctx: dict[str, Any] = {"settings": settings, "sessions": db, "job_try": 1}
    pushed = installed("pull_request", "synchronize")
    repo, number = pushed["repository"]["full_name"], pushed["pull_request"]["number"]
    try:
        with respx.mock(base_url=API, assert_all_called=False) as router:
            fake = FakeGitHub()
            fake.install(router)
            fake.pull_files[number] = ["src/new.py", "README.md"]
            [job] = index_jobs(route(settings, "pull_request", pushed, "d-1"))
            assert await index_event(ctx, **job.kwargs) == f"indexed #{number} (synchronize)"
            assert fake.token_bodies == [] and not router["pull_files"].called  # files never fetched: none

            opened = installed("pull_request", "opened")
            record = issue_record(opened["pull_request"])
            record.is_pull_request, record.files = True, ["src/old.py"]
            await store.upsert_item(db, repo, record)  # as triage indexes it at open time
            [job] = index_jobs(route(settings, "pull_request", pushed, "d-2"))
            outcome = await index_event(ctx, **job.kwargs)
            assert outcome == f"indexed #{number} (synchronize); 2 changed files refreshed"
            row = await store.get_item(db, repo, number)
            assert row is not None and json.loads(row.files or "null") == ["src/new.py", "README.md"]
            (call,) = router["pull_files"].calls
            assert call.request.url.path.endswith(f"/pulls/{number}/files")
            assert call.request.url.params.get("per_page") == "100" and FILES_MAX <= 100  # one page

            gone = f"{API}/repos/{repo}/pulls/{number}/files"
            fake.fail_next["pull_files"] = [httpx.Response(404, json={"message": "Not Found", "url": gone})]
            [job] = index_jobs(route(settings, "pull_request", pushed, "d-3"))
            outcome = await index_event(ctx, **job.kwargs)
            assert outcome == f"indexed #{number} (synchronize); files kept (GitHub refused: 404)"
            row = await store.get_item(db, repo, number)
            assert row is not None and json.loads(row.files or "null") == ["src/new.py", "README.md"]
    finally:
        await engine.dispose()
