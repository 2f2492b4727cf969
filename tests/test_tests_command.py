"""`/steward tests [paths]`: a writer starts a tests run as `/steward docs` starts one; paths are checked."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import respx
from arq import func

from app.commands.paths import MAX_PATH_CHARS, MAX_PATHS, BadPaths, parse_paths
from app.settings import Settings
from jobs.context import QUICK_JOB_TIMEOUT
from jobs.db import make_engine, sessions
from jobs.handlers.comment import handle_comment
from jobs.ledger import Ledger, RunView
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio

NUMBER = 1
REPO = "Codertocat/Hello-World"


@pytest.mark.parametrize(
    ("args", "paths"),
    [
        ("", []),
        ("src/parser.py", ["src/parser.py"]),
        ("./src//a.py   src/b.py\tsrc/a.py", ["src/a.py", "src/b.py"]),  # normalised, no repeats
        ("pkg/ tests/test_x.py", ["pkg", "tests/test_x.py"]),
        ("a..b/c.py .hidden/x.py", ["a..b/c.py", ".hidden/x.py"]),  # dots inside a name are a name
    ],
)
def test_good_paths_are_kept_normalised(args: str, paths: list[str]) -> None:
    assert parse_paths(args) == paths


@pytest.mark.parametrize(
    ("args", "named", "why"),
    [
        ("/etc/passwd", "`/etc/passwd`", "is absolute"),
        ("src/ok.py ../outside.py", "`../outside.py`", "climbs out with `..`"),
        ("src/../../x", "`src/../../x`", "climbs out"),
        ("src/a/..", "`src/a/..`", "climbs out"),
        ("a\x00b.py", "`a b.py`", "holds a control character"),
        ("a\x1bb.py", "`a b.py`", "holds a control character"),
        ("\u202eyp.txt", "`yp.txt`", "holds a control character"),  # a direction override
        ("src\\a.py", "`src\\a.py`", "holds a backslash"),
        ("--cov=/", "`--cov=/`", "starts with `-`"),
        (".", "`.`", "names no file or folder"),
        ("x" * (MAX_PATH_CHARS + 1), "`xxxx", f"is longer than {MAX_PATH_CHARS} characters"),
    ],
)
def test_a_bad_path_is_named_with_the_reason(args: str, named: str, why: str) -> None:
    with pytest.raises(BadPaths) as caught:
        parse_paths(args)
    assert named in str(caught.value) and why in str(caught.value)


def test_too_many_paths_are_refused_and_a_mention_is_never_echoed() -> None:
    with pytest.raises(BadPaths, match=f"at most {MAX_PATHS}"):
        parse_paths(" ".join(f"f{i}.py" for i in range(MAX_PATHS + 1)))
    assert len(parse_paths(" ".join(f"f{i}.py" for i in range(MAX_PATHS)))) == MAX_PATHS
    with pytest.raises(BadPaths) as caught:
        parse_paths("/@org/admins")
    assert "`/@org/admins`" in str(caught.value)  # inside a code span GitHub notifies no one


PLANNED: list[str] = []


async def record_plan(ctx: dict[str, Any], run_id: str) -> None:
    """Stands in for the planning job (another part of the lifecycle): what was queued, and for which run."""
    PLANNED.append(run_id)


@pytest.fixture
def github() -> FakeGitHub:
    fake = FakeGitHub()
    fake.permissions.update({"wes": "write", "rita": "read"})
    return fake


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    PLANNED.clear()
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


async def say(
    settings: Settings, body: str, comment_id: int, login: str = "wes", *, pr: bool = False, again: int = 0
) -> None:
    event: dict[str, Any] = copy.deepcopy(load_payload("issue_comment", "created.with-installation"))
    event["comment"].update(body=body, id=comment_id)
    event["comment"]["user"]["login"] = login
    if pr:
        event["issue"]["pull_request"] = {"url": f"{API}/repos/{REPO}/pulls/{NUMBER}"}
    job = f"comment:x:{comment_id}:{again}"  # `again`: the same delivery, redelivered as a new job
    await enqueue(settings, "handle_comment", job, delivery_id=f"d-{comment_id}", event=event)
    functions = [func(handle_comment, timeout=QUICK_JOB_TIMEOUT), func(record_plan, name="plan_run")]
    await run_burst(settings, functions=functions)


async def runs(settings: Settings) -> list[RunView]:
    engine = make_engine(settings.db_url)
    try:
        return await Ledger(sessions(engine)).runs_for(REPO, NUMBER)
    finally:
        await engine.dispose()


async def test_tests_on_a_pull_request_starts_one_run_with_its_paths_and_plans_it(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await say(settings, "/steward tests ./src//parser.py src/lexer.py", 71, pr=True)
    (run,) = await runs(settings)
    assert (run.workflow, run.paths, run.actor) == ("tests", ["src/parser.py", "src/lexer.py"], "wes")
    assert run.state.value == "queued" and run.installation_id == 1
    assert [run.id] == PLANNED
    assert github.bot_comments(NUMBER) == []  # the plan comment is the answer
    await say(settings, "/steward tests ./src//parser.py src/lexer.py", 71, pr=True, again=1)
    assert [r.id for r in await runs(settings)] == [run.id]  # a redelivery converges on the same run


async def test_tests_on_an_issue_without_paths_lets_the_workflow_choose(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await say(settings, "Please cover the parser.\n/steward tests", 72)
    (run,) = await runs(settings)
    assert run.workflow == "tests" and run.paths == [] and [run.id] == PLANNED
    await say(settings, "/steward tests src/a.py", 73)
    (reply,) = github.bot_comments(NUMBER)
    assert f"run `{run.id}` is already queued here; one tests run at a time" in reply
    assert len(await runs(settings)) == 1


async def test_a_bad_path_is_answered_and_starts_nothing(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await say(settings, "/steward tests src/ok.py ../../etc/passwd", 74, pr=True)
    (reply,) = github.bot_comments(NUMBER)
    assert "@wes, the path `../../etc/passwd` climbs out with `..`. Nothing was started." in reply
    assert await runs(settings) == [] and PLANNED == []


async def test_a_reader_is_refused_and_a_disabled_workflow_hides_the_command(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await say(settings, "/steward tests", 75, login="rita")
    github.files[".github/steward.yml"] = "workflows:\n  tests: {enabled: false}\n"
    await say(settings, "/steward tests", 76)
    refused, hidden = github.bot_comments(NUMBER)
    assert "`/steward tests` needs write access to this repository; you have read." in refused
    assert "`/steward tests` is not a command I know." in hidden and "/steward tests [paths]" not in hidden
    assert await runs(settings) == [] and PLANNED == []


async def test_the_noise_limit_holds_for_tests_runs_too(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "noise:\n  max_open_prs: 0\n"
    await say(settings, "/steward tests", 77)
    (limit,) = github.bot_comments(NUMBER)
    assert "noise limit of open Steward pull requests (0 of 0)" in limit
    assert await runs(settings) == [] and PLANNED == []
