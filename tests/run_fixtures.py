"""Shared pieces of the run tests: a bare git remote seeded with the sample repository, and a FakeGitHub
that also serves the repository, the issue, pull requests and commit statuses (shaped like GitHub's)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import respx

from app.settings import Settings
from jobs.db import make_engine, sessions
from jobs.ledger import Ledger, RunTrace, RunView
from sandbox.labels import RUN_LABEL
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub, user
from tests.worker_support import enqueue, run_burst

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample"
REPO_ID = 186853002
INSTALLATION_ID = 1
ISSUE = 7
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@dataclass
class Remote:
    """A bare repository standing in for GitHub's git side, and a clone people push to."""

    bare: Path
    dev: Path

    def sha(self, ref: str = "main") -> str | None:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", ref], cwd=self.bare, capture_output=True, text=True
        )
        return done.stdout.strip() or None

    def files_changed(self, base: str, ref: str) -> list[str]:
        return git(self.bare, "diff", "--name-only", base, ref).split()

    def push_change(self, path: str, text: str) -> str:
        (self.dev / path).parent.mkdir(parents=True, exist_ok=True)
        (self.dev / path).write_text(text)
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-qm", f"change {path}")
        git(self.dev, "push", "-q", "origin", "HEAD:main")
        return git(self.dev, "rev-parse", "HEAD")


def make_remote(tmp: Path, extra: dict[str, str] | None = None) -> Remote:
    """The sample repository (plus extra files) on `main` of a bare remote."""
    dev = tmp / "dev"
    shutil.copytree(SAMPLE, dev)
    for path, text in (extra or {}).items():
        (dev / path).parent.mkdir(parents=True, exist_ok=True)
        (dev / path).write_text(text)
    git(dev, "init", "-q", "-b", "main")
    git(dev, "add", "-A")
    git(dev, "commit", "-qm", "sample")
    bare = tmp / "remote.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    git(dev, "remote", "add", "origin", str(bare))
    git(dev, "push", "-q", "origin", "main")
    return Remote(bare, dev)


def comment_event(body: str, login: str, comment_id: int, number: int = ISSUE) -> dict[str, Any]:
    """The real issue_comment.created example, with its comment and issue replaced."""
    payload = copy.deepcopy(load_payload("issue_comment", "created.with-installation"))
    payload["comment"].update({"body": body, "id": comment_id})
    payload["comment"]["user"].update({"login": login, "type": "User"})
    payload["issue"]["number"] = number
    return payload


def review_event(login: str, state: str, number: int, commit_id: str) -> dict[str, Any]:
    """The real pull_request_review.submitted example, aimed at Steward's pull request."""
    payload = copy.deepcopy(load_payload("pull_request_review", "submitted"))
    payload["review"].update({"state": state, "commit_id": commit_id, "id": 80 + len(login)})
    payload["review"]["user"].update({"login": login, "type": "User"})
    payload["pull_request"]["number"] = number
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


@dataclass
class FakeRunGitHub(FakeGitHub):
    """FakeGitHub plus what a run touches; git itself goes to the bare remote named as clone_url."""

    remote: Remote | None = None
    issue_title: str = "Add --times and --shout options to the greeter"
    labels: list[str] = field(default_factory=lambda: ["enhancement"])
    pulls: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    timeline: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """Issue number -> its timeline events (GitHub's shape: tests/fixtures/github/timeline.json)."""
    pull_files: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """Pull request number -> its files (GitHub's shape: tests/fixtures/github/pull_files.json)."""

    def install(self, router: respx.MockRouter) -> respx.MockRouter:
        super().install(router)
        base = f"{API}/repos/{self.full}"
        router.get(url__regex=rf"{base}$", name="repository").mock(side_effect=self._repository)
        router.get(url__regex=rf"{base}/commits/[^/]+$", name="commit").mock(side_effect=self._commit)
        router.get(url__regex=rf"{base}/commits/[0-9a-f]{{40}}/status$", name="combined_status").mock(
            side_effect=self._combined
        )
        router.get(url__regex=rf"{base}/issues/\d+$", name="issue").mock(side_effect=self._issue)
        router.get(url__regex=rf"{base}/pulls(\?.*)?$", name="list_pulls").mock(side_effect=self._list_pulls)
        router.post(url__regex=rf"{base}/pulls$", name="create_pull").mock(side_effect=self._create_pull)
        router.get(url__regex=rf"{base}/pulls/\d+$", name="get_pull").mock(side_effect=self._get_pull)
        router.get(url__regex=rf"{base}/issues/\d+/timeline(\?.*)?$", name="timeline").mock(
            side_effect=lambda request: self._listed(request, self.timeline)
        )
        router.get(url__regex=rf"{base}/pulls/\d+/files(\?.*)?$", name="pull_files").mock(
            side_effect=lambda request: self._listed(request, self.pull_files)
        )
        router.post(url__regex=rf"{base}/statuses/[0-9a-f]{{40}}$", name="status").mock(
            side_effect=self._status
        )
        return router

    def _listed(self, request: httpx.Request, lists: dict[int, list[dict[str, Any]]]) -> httpx.Response:
        """One page of a list endpoint, with GitHub's `Link: <...>; rel="next"` when there is more."""
        number = int(request.url.path.split("/")[-2])
        per_page = int(request.url.params.get("per_page", "30"))
        page = int(request.url.params.get("page", "1"))
        items = lists.get(number, [])
        headers = {}
        if page * per_page < len(items):
            nxt = request.url.copy_merge_params({"page": str(page + 1), "per_page": str(per_page)})
            headers["link"] = f'<{nxt}>; rel="next"'
        return httpx.Response(200, json=items[(page - 1) * per_page : page * per_page], headers=headers)

    def _repository(self, request: httpx.Request) -> httpx.Response:
        assert self.remote is not None
        return httpx.Response(
            200,
            json={
                "id": REPO_ID,
                "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
                "name": self.repo,
                "full_name": self.full,
                "private": False,
                "owner": user(self.owner),
                "html_url": f"https://github.com/{self.full}",
                "clone_url": str(self.remote.bare),
                "default_branch": "main",
            },
        )

    def _commit(self, request: httpx.Request) -> httpx.Response:
        assert self.remote is not None
        sha = self.remote.sha(request.url.path.rsplit("/", 1)[1])
        if sha is None:
            return httpx.Response(422, json={"message": "No commit found for SHA: x", "status": "422"})
        return httpx.Response(
            200,
            json={
                "sha": sha,
                "node_id": "C_kwDO",
                "url": f"{API}/repos/{self.full}/commits/{sha}",
                "html_url": f"https://github.com/{self.full}/commit/{sha}",
                "commit": {"message": "sample", "tree": {"sha": sha, "url": ""}},
                "parents": [],
            },
        )

    def _issue(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.path.rsplit("/", 1)[1])
        return httpx.Response(
            200,
            json={
                "id": 1000 + number,
                "number": number,
                "title": self.issue_title,
                "body": "The usage text is stale.",
                "state": "open",
                "user": user("octocat"),
                "labels": [
                    {"id": 1, "name": name, "color": "a2eeef", "default": False} for name in self.labels
                ],
                "html_url": f"https://github.com/{self.full}/issues/{number}",
                "milestone": None,
                "created_at": "2026-11-20T10:00:00Z",
                "updated_at": "2026-11-20T10:00:00Z",
                "closed_at": None,
            },
        )

    def _pull_json(self, number: int, head: str, title: str, body: str, base: str) -> dict[str, Any]:
        assert self.remote is not None
        sha = self.remote.sha(head) or ""
        return {
            "id": 5000 + number,
            "node_id": "PR_kwDO",
            "number": number,
            "state": "open",
            "locked": False,
            "title": title,
            "body": body,
            "user": user("steward[bot]", bot=True),
            "labels": [],
            "html_url": f"https://github.com/{self.full}/pull/{number}",
            "head": {"label": f"{self.owner}:{head}", "ref": head, "sha": sha, "user": user(self.owner)},
            "base": {"label": f"{self.owner}:{base}", "ref": base, "sha": self.remote.sha(base) or ""},
            "merged": False,
            "merged_at": None,
            "draft": False,
        }

    def _list_pulls(self, request: httpx.Request) -> httpx.Response:
        wanted = request.url.params.get("head", "")
        found = [
            p for p in self.pulls if p["state"] == "open" and f"{self.owner}:{p['head']['ref']}" == wanted
        ]
        return httpx.Response(200, json=found)

    def _create_pull(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in self.pulls):
            return httpx.Response(422, json={"message": "Validation Failed", "status": "422"})
        pull = self._pull_json(100 + len(self.pulls), body["head"], body["title"], body["body"], body["base"])
        self.pulls.append(pull)
        return httpx.Response(201, json=pull)

    def _get_pull(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.path.rsplit("/", 1)[1])
        for pull in self.pulls:
            if pull["number"] == number:
                assert self.remote is not None
                pull["head"]["sha"] = self.remote.sha(pull["head"]["ref"]) or pull["head"]["sha"]
                return httpx.Response(200, json=pull)
        return httpx.Response(404, json={"message": "Not Found", "status": "404"})

    def _status(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sha = request.url.path.rsplit("/", 1)[1]
        status = {"id": len(self.statuses) + 1, "sha": sha, **body, "creator": user("steward[bot]", bot=True)}
        self.statuses.append(status)
        return httpx.Response(201, json=status)

    def _combined(self, request: httpx.Request) -> httpx.Response:
        sha = request.url.path.split("/")[-2]
        latest: dict[str, dict[str, Any]] = {}
        for status in self.statuses:
            if status["sha"] == sha:
                latest[status["context"]] = status
        statuses = sorted(latest.values(), key=lambda s: -int(s["id"]))
        state = "pending" if not statuses or any(s["state"] == "pending" for s in statuses) else "success"
        return httpx.Response(
            200,
            json={"state": state, "sha": sha, "total_count": len(statuses), "statuses": statuses,
                  "repository": {"id": REPO_ID, "full_name": self.full}},
        )  # fmt: skip

    def plan_comments(self, number: int = ISSUE) -> list[dict[str, Any]]:
        return [c for c in self.comments.get(number, []) if "<!-- steward:plan -->" in c["body"]]

    def untick(self, title_part: str, number: int = ISSUE) -> None:
        """A person unticks one step of the plan comment (as GitHub's task-list click does)."""
        (comment,) = self.plan_comments(number)
        lines = comment["body"].split("\n")
        hits = [i for i, line in enumerate(lines) if line.startswith("- [x]") and title_part in line]
        assert len(hits) == 1, hits
        lines[hits[0]] = lines[hits[0]].replace("- [x]", "- [ ]", 1)
        comment["body"] = "\n".join(lines)


def statuses_for(github: FakeRunGitHub, sha: str) -> list[str]:
    return [s["state"] for s in github.statuses if s["sha"] == sha and s["context"] == "steward/review"]


STEP_TITLE = re.compile(r"- \[( |x)\] (.*?) <!--")


MAINTAINER = "maya"
WRITER = "wes"
REVIEWER = "rita"
APPROVER = "ada"
"""A second maintainer: the requester may not approve their own plan by default."""
BRANCH = "steward/docs/7"
ROLES = {MAINTAINER: "maintain", APPROVER: "maintain", WRITER: "write", REVIEWER: "write", "tom": "triage"}


INSTALL_STEP = "setup:\n  install: echo installed\n"
"""The setup phase runs only when the repository asks for an install step: this one does."""


def fake_github(remote: Remote, *, install: bool = False) -> FakeRunGitHub:
    """The sample repository's fake GitHub; `install`: its .github/steward.yml asks for an install step."""
    fake = FakeRunGitHub(remote=remote)
    fake.permissions = dict(ROLES)
    config = (SAMPLE / ".github" / "steward.yml").read_text()
    fake.files[".github/steward.yml"] = config + (INSTALL_STEP if install else "")
    return fake


async def say(settings: Settings, body: str, login: str, comment_id: int, *, job_suffix: str = "") -> None:
    """A person comments on the issue; the worker answers everything that follows from it."""
    event = comment_event(body, login, comment_id)
    job_id = f"comment:{REPO_ID}:{comment_id}{job_suffix}"
    await enqueue(settings, "handle_comment", job_id, delivery_id=f"d-{comment_id}{job_suffix}", event=event)
    await run_burst(settings)


async def runs(settings: Settings, number: int = ISSUE) -> list[RunView]:
    engine = make_engine(settings.db_url)
    try:
        return await Ledger(sessions(engine)).runs_for("Codertocat/Hello-World", number)
    finally:
        await engine.dispose()


async def trace_of(settings: Settings, run_id: str) -> RunTrace:
    engine = make_engine(settings.db_url)
    try:
        return await Ledger(sessions(engine)).trace(run_id)
    finally:
        await engine.dispose()


def replies(github: FakeRunGitHub, number: int = ISSUE) -> list[str]:
    """Steward's answers to commands (not its plan comment)."""
    return [body for body in github.bot_comments(number) if body.startswith("<!-- steward:reply")]


# Fixtures shared by the run tests (registered through `pytest_plugins` in tests/conftest.py); a test module
# may override `remote` or `github` with its own seeded variant.


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    """A bare git remote seeded with the sample repository, and a developer clone of it."""
    return make_remote(tmp_path)


@pytest.fixture
def github(remote: Remote) -> FakeRunGitHub:
    """The stateful GitHub fake, its repository backed by `remote`."""
    return fake_github(remote)


@pytest.fixture
def api(github: FakeRunGitHub) -> Iterator[respx.MockRouter]:
    """GitHub's HTTP, served by the fake through respx."""
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


def containers(run_id: str) -> int:
    """Containers the real Docker daemon still holds for a run (0 once its sandbox is destroyed)."""
    client = docker.from_env()
    try:
        return len(
            client.containers.list(all=True, ignore_removed=True, filters={"label": f"{RUN_LABEL}={run_id}"})
        )
    finally:
        client.close()
