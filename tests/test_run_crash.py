"""A crash on the work or diff path fails the run and says why; no run is ever left `running`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import respx

from app.settings import Settings
from jobs.ledger import RunState
from jobs.workflows.docs import workflow as docs_workflow
from tests.github_mock import API
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    SAMPLE,
    FakeRunGitHub,
    fake_github,
    git,
    make_remote,
    runs,
    say,
)
from tests.test_local_run import ISSUE_JSON, steward

pytestmark = pytest.mark.docker

FAILURES = [
    OSError(40, "Too many levels of symbolic links"),
    ValueError("docs/guide.md: passes through a symbolic link"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
]


def install(github: FakeRunGitHub) -> respx.MockRouter:
    router = respx.mock(base_url=API, assert_all_called=False)
    github.install(router)
    return router


@pytest.mark.anyio
@pytest.mark.parametrize("failure", FAILURES, ids=lambda exc: type(exc).__name__)
async def test_an_engine_crash_fails_the_github_run_with_its_reason(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    seen: list[Path] = []

    async def crash(work_tree: Path, *args: Any, **kwargs: Any) -> Any:
        seen.append(work_tree)
        if isinstance(failure, OSError):
            raise OSError(failure.errno, failure.strerror, str(work_tree / "docs" / "guide.md"))
        raise failure

    monkeypatch.setattr(docs_workflow, "apply_docs", crash)
    remote = make_remote(tmp_path)
    github = fake_github(remote)
    with install(github):
        await say(settings, "/steward docs", MAINTAINER, 3401)
        await say(settings, "/steward approve", APPROVER, 3402)
    (run,) = await runs(settings)
    assert seen and run.state == RunState.FAILED and remote.sha(BRANCH) is None
    detail = "Too many levels" if isinstance(failure, OSError) else str(failure)[:30]
    (told,) = [body for body in github.bot_comments(7) if "steward:run-result" in body]
    assert type(failure).__name__ in told and detail in told
    assert str(settings.data_dir) not in told  # the host's layout stays out of the issue
    assert "/workspace/docs/guide.md" in told or not isinstance(failure, OSError)


def _swapping_checkout(tmp_path: Path) -> Path:
    """The sample, plus a page whose exec block replaces the page itself with a link."""
    repo = tmp_path / "sample"
    shutil.copytree(SAMPLE, repo)
    code = "import os; os.remove('docs/swap.md'); os.symlink('/etc/hostname', 'docs/swap.md'); print('ok')"
    (repo / "docs" / "swap.md").write_text(
        f'<!-- steward:exec python3 -c "{code}" -->\n```\n```\n<!-- /steward:exec -->\n'
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "sample")
    return repo


def test_a_block_that_swaps_its_file_for_a_link_fails_the_local_run_without_a_traceback(
    tmp_path: Path,
) -> None:
    repo = _swapping_checkout(tmp_path)
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "symbolic link" in done.stderr
    run_id = done.stderr.rsplit("steward runs show ", 1)[1].split()[0]
    shown = steward(tmp_path, "runs", "show", run_id)
    assert shown.returncode == 0 and re.search(r"state:\s+failed", shown.stdout)
    assert "running -> failed" in shown.stdout  # the engine crashed (old) or the link was refused (now)
    assert git(repo, "branch", "--list", "steward/*") == ""
