"""`steward shadow report` on fixtures whose scores were worked out by hand: a real SQLite ledger holding
shadow records, GitHub's HTTP mocked with respx in the shapes of its real payloads (tests/fixtures)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from app.cli import app
from app.github.protocol import IssueRecord
from jobs.db import make_engine, migrate, sessions
from jobs.duplicates import store as index
from jobs.ledger import Ledger, RunState
from jobs.plan import Plan, PlanStep
from jobs.shadow.store import TRIAGE_SCOPE, Effect, record
from tests.conftest import FIXTURES, load_payload
from tests.github_mock import API, TOKEN

REPO = "Codertocat/Hello-World"
BASE = f"{API}/repos/{REPO}"
INSTALLATION = 1
DUPLICATES = {  # number: (shown, what GitHub says now)
    20: ([7], {"state": "closed", "state_reason": "duplicate"}),  # + confirmed pair 20~7: TP, original named
    21: ([8], {"state": "open"}),  # + `not-duplicate #8`: FP, corrected
    22: ([], {"state": "closed", "state_reason": "completed", "labels": ["duplicate"]}),  # FN (label by hand)
    23: ([], {"state": "closed", "state_reason": "completed"}),  # TN
    24: ([9], {"state": "open"}),  # undecided
    25: ([9], None),  # deleted since (404): unknown
    26: ([7], {"state": "closed", "state_reason": "not_planned"}),  # FP (closed, not as a duplicate)
}
CHANGELOG_FILE = {
    "sha": "4a1e1d2c7b0d9e3f5a6b7c8d9e0f1a2b3c4d5e6f",
    "filename": "CHANGELOG.md",
    "status": "modified",
    "additions": 1,
    "deletions": 0,
    "changes": 1,
    "blob_url": f"https://github.com/{REPO}/blob/6dcb09b5b57875f334f61aebed695e2e4193db5e/CHANGELOG.md",
    "raw_url": f"https://github.com/{REPO}/raw/6dcb09b5b57875f334f61aebed695e2e4193db5e/CHANGELOG.md",
    "contents_url": f"{API}/repos/{REPO}/contents/CHANGELOG.md?ref=6dcb09b5b57875f334f61aebed695e2e4193db5e",
    "patch": "@@ -3,0 +4 @@\n+- Add the --shout flag (#30)",
}


def issue_json(
    number: int,
    state: str = "open",
    state_reason: str | None = None,
    labels: list[str] = (),
    pull: bool = False,
) -> dict[str, Any]:  # type: ignore[assignment]
    """GitHub's issue object (the issues.opened example's), as GET /repos/{o}/{r}/issues/{n} returns it."""
    data = copy.deepcopy(load_payload("issues", "opened")["issue"])
    data.update(
        {
            "number": number,
            "state": state,
            "state_reason": state_reason,
            "labels": [
                {"id": i, "name": n, "color": "cfd3d7", "default": False} for i, n in enumerate(labels)
            ],
            "html_url": f"https://github.com/{REPO}/issues/{number}",
        }
    )
    if pull:
        data["pull_request"] = {"url": f"{BASE}/pulls/{number}", "merged_at": None}
    return data


def pull_json(number: int, merged: bool) -> dict[str, Any]:
    data = copy.deepcopy(load_payload("pull_request", "closed")["pull_request"])
    data.update(
        {
            "number": number,
            "merged": merged,
            "state": "closed" if merged else "open",
            "merged_at": "2026-11-25T10:00:00Z" if merged else None,
        }
    )
    return data


PULLS = {9: pull_json(9, merged=True), 31: pull_json(31, merged=True), 32: pull_json(32, merged=False)}
FIXTURE_FILES = json.loads((FIXTURES / "github" / "pull_files.json").read_text())
FILES = {9: [*FIXTURE_FILES, CHANGELOG_FILE], 31: [*FIXTURE_FILES, CHANGELOG_FILE]}
"""Both merged pull requests changed CHANGELOG.md by hand (#32 is not merged)."""
ISSUES = {
    30: issue_json(30),
    31: issue_json(31, pull=True),
    32: issue_json(32, pull=True),
    33: issue_json(33),
}


def _issue(request: httpx.Request) -> httpx.Response:
    number = int(request.url.path.rsplit("/", 1)[1])
    if number in ISSUES:
        return httpx.Response(200, json=ISSUES[number])
    _, now = DUPLICATES.get(number, ([], None))
    if now is None:
        return httpx.Response(404, json={"message": "Not Found", "status": "404"})
    return httpx.Response(
        200, json=issue_json(number, now["state"], now.get("state_reason"), now.get("labels", []))
    )


def _pull(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=PULLS[int(request.url.path.rsplit("/", 1)[1])])


def _files(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=FILES.get(int(request.url.path.split("/")[-2]), []))


@pytest.fixture
def github() -> Iterator[respx.MockRouter]:
    timeline = json.loads((FIXTURES / "github" / "timeline.json").read_text())  # links PR #9 (and issue #8)
    with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(f"{BASE}/installation", name="installation").mock(
            return_value=httpx.Response(
                200, json={"id": INSTALLATION, "app_id": 12345, "target_type": "User"}
            )
        )
        router.post(f"{API}/app/installations/{INSTALLATION}/access_tokens", name="token").mock(
            return_value=httpx.Response(201, json={"token": TOKEN, "expires_at": "2099-01-01T00:00:00Z"})
        )
        router.get(url__regex=rf"{BASE}/contents/\.github/steward\.yml").mock(
            return_value=httpx.Response(404, json={"message": "Not Found", "status": "404"})
        )
        router.get(url__regex=rf"{BASE}/issues/30/timeline").mock(
            return_value=httpx.Response(200, json=timeline)
        )
        router.get(url__regex=rf"{BASE}/issues/\d+$", name="issue").mock(side_effect=_issue)
        router.get(url__regex=rf"{BASE}/pulls/\d+$", name="pull").mock(side_effect=_pull)
        router.get(url__regex=rf"{BASE}/pulls/\d+/files", name="files").mock(side_effect=_files)
        yield router


def docs_plan(number: int, entry: str | None) -> Plan:
    steps = (
        [PlanStep(id="changelog", title="Update CHANGELOG.md: add it", detail=entry, result="done")]
        if entry
        else []
    )
    return Plan(workflow="docs", number=number, steps=steps)


async def seed(url: str) -> dict[str, str]:
    engine = make_engine(url)
    await migrate(engine)
    maker = sessions(engine)
    ledger = Ledger(maker)
    try:
        for number, (shown, _) in DUPLICATES.items():
            data = {
                "shown": shown,
                "candidates": [{"number": n, "score": 0.7, "title": "t", "state": "open"} for n in shown],
                "threshold": 0.4,
                "label": None,
            }
            await record(maker, Effect(REPO, number, "duplicates", TRIAGE_SCOPE, "suggestions", "", "", data))
        await index.upsert_item(maker, REPO, IssueRecord(20, "t", "b", "closed", False, "octocat"))
        await index.record_feedback(maker, REPO, 20, 7, duplicate=True, source="close_reason")
        await index.record_feedback(maker, REPO, 21, 8, duplicate=False, source="command", actor="maya")
        ids = {}
        for name, number, entry, end in [
            ("issue-both", 30, "- Add the --shout flag (#30)", RunState.CLOSED),  # PR #9 merged with an entry
            ("pull-missed", 31, None, RunState.CLOSED),  # merged with an entry Steward did not propose
            ("pull-pending", 32, "- Fix (#32)", RunState.CLOSED),  # not merged yet
            ("failed", 33, None, RunState.FAILED),
        ]:
            run = await ledger.create_run(
                REPO, number, "docs", actor="maya", installation_id=INSTALLATION, mode="shadow"
            )
            await ledger.set_plan(run.id, docs_plan(number, entry))
            path = [RunState.PLANNING, RunState.RUNNING, RunState.CLOSED] if end == RunState.CLOSED else [end]
            for state in path:
                await ledger.transition(run.id, state, actor="steward")
            await record(
                maker, Effect(REPO, number, "docs", run.id, "comment", "<!-- steward:plan -->", "plan")
            )
            ids[name] = run.id
        tests = await ledger.create_run(REPO, 40, "tests", actor="maya", mode="shadow")
        await record(maker, Effect(REPO, 40, "tests", tests.id, "comment", "<!-- steward:plan -->", "plan"))
        return ids
    finally:
        await engine.dispose()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, private_key_pem: str) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)
    monkeypatch.setenv("STEWARD_APP_ID", "12345")
    monkeypatch.setenv("STEWARD_PRIVATE_KEY", private_key_pem)
    return url


def test_the_report_scores_duplicates_and_docs_as_worked_out_by_hand(
    env: str, github: respx.MockRouter
) -> None:
    ids = asyncio.run(seed(env))
    done = CliRunner().invoke(app, ["shadow", "report", "--repo", REPO, "--since", "30d", "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    verdicts = {item["number"]: item["verdict"] for item in report["duplicates"]["items"]}
    assert verdicts == {
        20: "true positive",
        21: "false positive",
        22: "missed",
        23: "true negative",
        24: "undecided",
        25: "unknown",
        26: "false positive",
    }
    outcomes = {item["number"]: item["outcome"] for item in report["duplicates"]["items"]}
    assert outcomes[20] == "closed as duplicate" and outcomes[22] == "labelled duplicate"
    assert outcomes[21] == "corrected: not a duplicate" and outcomes[26] == "closed (not_planned)"
    summary = report["duplicates"]["summary"]
    assert summary["precision"] == pytest.approx(1 / 3) and summary["recall"] == pytest.approx(1 / 2)
    assert summary["corrected"] == 1 and (summary["originals_named"], summary["originals_known"]) == (1, 1)
    docs = {run["run_id"]: run for run in report["docs"]["runs"]}
    assert docs[ids["issue-both"]]["verdict"] == "both" and docs[ids["issue-both"]]["pulls"] == [9]
    assert docs[ids["pull-missed"]]["verdict"] == "missed" and docs[ids["pull-missed"]]["by_hand"] is True
    assert docs[ids["pull-pending"]]["verdict"] == "pending" and docs[ids["pull-pending"]]["by_hand"] is None
    assert docs[ids["failed"]]["verdict"] == "unknown" and "failed" in docs[ids["failed"]]["note"]
    assert report["docs"]["summary"]["agreement"] == pytest.approx(
        1 / 2
    )  # both (1) of decided (both, missed)
    assert report["others"] == {"tests": 1}
    assert [c.request.method for c in github.calls if c.request.method != "GET"] == ["POST"]  # the token only
    (token,) = [c.request for c in github.calls if c.request.method == "POST"]
    assert set(json.loads(token.content)["permissions"].values()) == {"read"}

    table = CliRunner().invoke(app, ["shadow", "report", "--repo", REPO])
    assert table.exit_code == 0, table.output
    assert "precision 0.33 (1/3)" in table.output and "recall 0.50 (1/2)" in table.output
    assert "agreement 0.50 (1/2)" in table.output and "tests: 1 shadow run(s)" in table.output


def test_limit_bounds_the_items_read_on_github(env: str, github: respx.MockRouter) -> None:
    asyncio.run(seed(env))
    done = CliRunner().invoke(app, ["shadow", "report", "--json", "--limit", "3"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert len(report["duplicates"]["items"]) == 3 and report["docs"]["runs"] == []
    assert report["left_out"] == len(DUPLICATES) - 3 + 4
    assert github["issue"].call_count == 3


@pytest.mark.parametrize("since", ["30", "3x", "0d", "-1d", "d30", ""])
def test_a_bad_since_is_refused_with_what_is_accepted(env: str, since: str) -> None:
    done = CliRunner().invoke(app, ["shadow", "report", "--since", since])
    assert done.exit_code == 2
    assert "--since" in done.output and "30d, 12h or 2w" in done.output


def test_missing_app_credentials_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STEWARD_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    for name in (
        "STEWARD_APP_ID",
        "STEWARD_PRIVATE_KEY",
        "STEWARD_PRIVATE_KEY_FILE",
        "STEWARD_PRIVATE_KEY_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    done = CliRunner().invoke(app, ["shadow", "report"])
    assert done.exit_code == 2
    assert "STEWARD_APP_ID" in done.output and "STEWARD_PRIVATE_KEY" in done.output


def test_a_repository_without_the_app_is_said_not_crashed(env: str, github: respx.MockRouter) -> None:
    asyncio.run(seed(env))
    github.routes["installation"].return_value = httpx.Response(
        404, json={"message": "Not Found", "status": "404"}
    )
    done = CliRunner().invoke(app, ["shadow", "report", "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert {item["outcome"] for item in report["duplicates"]["items"]} == {
        f"Steward's App is not installed on {REPO}"
    }
    assert not github["issue"].called
