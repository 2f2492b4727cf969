"""The `steward/config` check run on a pull request that changes .github/steward.yml, with GitHub mocked
over HTTP by respx and shaped like its real answers (the check run from the check_run webhook example)."""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from app.handlers import build_router
from app.router import Delivery
from app.settings import Settings
from jobs.configcheck import CHECK_NAME, check_config
from tests.conftest import WEBHOOK_EXAMPLES, load_payload
from tests.github_mock import API, FakeGitHub

pytestmark = pytest.mark.anyio

REPO = f"{API}/repos/Codertocat/Hello-World"
EVENT = load_payload("pull_request", "synchronize")
HEAD = EVENT["pull_request"]["head"]["sha"]
BASE = EVENT["pull_request"]["base"]["sha"]
CHECK_RUN = json.loads((WEBHOOK_EXAMPLES / "check_run" / "created.payload.json").read_text())["check_run"]


class Checks:
    """The contents API by ref, and the check runs of one commit, as GitHub keeps them."""

    def __init__(self) -> None:
        self.files: dict[str, str | None] = {HEAD: None, BASE: None}
        self.runs: list[dict[str, Any]] = []
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def contents(self, request: httpx.Request) -> httpx.Response:
        text = self.files.get(request.url.params.get("ref", ""))
        if text is None:
            return httpx.Response(404, json={"message": "Not Found", "status": "404"})
        raw = text.encode()
        return httpx.Response(
            200,
            json={
                "type": "file",
                "encoding": "base64",
                "path": ".github/steward.yml",
                "content": base64.encodebytes(raw).decode(),
                "sha": f"{len(raw):040x}",
            },
        )

    def listed(self, request: httpx.Request) -> httpx.Response:
        name = request.url.params.get("check_name")
        runs = [run for run in self.runs if run["name"] == name]
        return httpx.Response(200, json={"total_count": len(runs), "check_runs": runs})

    def create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.writes.append(("create", body))
        run = {**copy.deepcopy(CHECK_RUN), "id": 128620228 + len(self.runs), **body}
        self.runs.append(run)
        return httpx.Response(201, json=run)

    def update(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        run_id = int(request.url.path.rsplit("/", 1)[1])
        self.writes.append(("update", body))
        run = next(run for run in self.runs if run["id"] == run_id)
        run.update(body)
        return httpx.Response(200, json=run)


@pytest.fixture
def checks() -> Checks:
    return Checks()


@pytest.fixture
def api(checks: Checks) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(url__regex=rf"{REPO}/contents/\.github/steward\.yml").mock(side_effect=checks.contents)
        router.get(f"{REPO}/commits/{HEAD}/check-runs").mock(side_effect=checks.listed)
        router.post(f"{REPO}/check-runs").mock(side_effect=checks.create)
        router.patch(url__regex=rf"{REPO}/check-runs/\d+$").mock(side_effect=checks.update)
        FakeGitHub().install(router)  # the token route (after ours: respx takes the first route that matches)
        yield router


async def _check(settings: Settings) -> str:
    ctx: dict[str, Any] = {"settings": settings, "job_try": 1}
    return await check_config(ctx, "delivery-1", copy.deepcopy(EVENT))


def test_every_new_head_of_a_pull_request_is_queued_once(settings: Settings) -> None:
    router = build_router(settings)
    delivery = Delivery("pull_request", "d-1", router.model_for("pull_request").model_validate(EVENT))
    jobs = [job for job in router.dispatch(delivery) if job.function == "check_config"]
    assert [job.job_id for job in jobs] == [f"config-check:{EVENT['repository']['id']}:2:{HEAD}"]


async def test_an_invalid_head_fails_with_line_annotations(
    settings: Settings, checks: Checks, api: respx.MockRouter
) -> None:
    checks.files[BASE] = "prefix: /steward\n"
    checks.files[HEAD] = "prefix: /steward\nworkflows:\n  docs:\n    paths: ['src/**']\n"
    outcome = await _check(settings)
    assert outcome.endswith("failure (check run 128620228)"), outcome
    [(kind, body)] = checks.writes
    assert kind == "create" and body["name"] == CHECK_NAME and body["head_sha"] == HEAD
    assert body["conclusion"] == "failure" and body["status"] == "completed"
    [note] = body["output"]["annotations"]
    assert note["path"] == ".github/steward.yml"
    assert (note["start_line"], note["end_line"], note["annotation_level"]) == (4, 4, "failure")
    assert note["title"] == "workflows.docs.paths.0" and "`src/**` is outside" in note["message"]
    token = api.calls[0].request
    assert json.loads(token.content)["permissions"] == {"contents": "read", "checks": "write"}


async def test_a_valid_change_is_simulated_against_the_base(
    settings: Settings, checks: Checks, api: respx.MockRouter
) -> None:
    checks.files[BASE] = "commands:\n  docs: {permission: maintain}\n"
    checks.files[HEAD] = "commands:\n  docs: {permission: write}\nnoise: {runs_per_day: 3}\n"
    await _check(settings)
    [(_, body)] = checks.writes
    output = body["output"]
    assert body["conclusion"] == "success"
    assert output["title"] == "valid: 2 change(s) in what Steward may do"
    assert (
        "| `commands.docs` | `maintain and above` | `write and above` | **more people may run it** |"
        in (output["summary"])
    )
    assert "| `noise.runs_per_day` | `20` | `3` |" in output["summary"]
    assert "1 command(s) open to more people" in output["summary"]
    assert output["annotations"] == []


async def test_a_rerun_updates_the_same_check_run(
    settings: Settings, checks: Checks, api: respx.MockRouter
) -> None:
    checks.files[HEAD] = "noise: {runs_per_day: 3}\n"
    await _check(settings)
    checks.files[HEAD] = "noise: {runs_per_day: -3}\n"
    await _check(settings)
    assert [kind for kind, _ in checks.writes] == ["create", "update"]
    assert len(checks.runs) == 1 and checks.runs[0]["conclusion"] == "failure"


async def test_a_head_that_leaves_the_file_alone_gets_no_check(
    settings: Settings, checks: Checks, api: respx.MockRouter
) -> None:
    checks.files[BASE] = checks.files[HEAD] = "prefix: /bot\n"
    assert "no check" in await _check(settings)
    checks.files[BASE] = checks.files[HEAD] = None
    assert "no check" in await _check(settings)
    assert checks.writes == []


async def test_a_removed_file_is_checked_as_the_defaults(
    settings: Settings, checks: Checks, api: respx.MockRouter
) -> None:
    checks.files[BASE] = "workflows:\n  docs: {enabled: false}\n"
    await _check(settings)
    [(_, body)] = checks.writes
    assert body["output"]["summary"].startswith("The file is removed, so the defaults apply.")
    assert "| `workflows.docs.enabled` | `off` | `on` |" in body["output"]["summary"]


async def test_hostile_values_stay_inert_in_the_summary(
    settings: Settings, checks: Checks, api: respx.MockRouter
) -> None:
    checks.files[HEAD] = "workflows:\n  docs:\n    changelog: 'x | @octocat <img src=x> `y`'\n"
    await _check(settings)
    [(_, body)] = checks.writes
    summary = body["output"]["summary"]
    row = next(line for line in summary.splitlines() if "workflows.docs.changelog" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 5  # the value's pipe is escaped: the row keeps 4 columns
    assert "``" in row and "\\|" in row


async def test_a_huge_invalid_file_is_bounded(
    settings: Settings, checks: Checks, api: respx.MockRouter
) -> None:
    checks.files[HEAD] = "".join(f"k{i}: [\n" for i in range(200)) + "x" * 70_000
    await _check(settings)
    [(_, body)] = checks.writes
    assert body["conclusion"] == "failure"
    assert len(body["output"]["summary"]) < 65_535 and len(body["output"]["annotations"]) <= 50
