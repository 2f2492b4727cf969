"""The fault matrix's harness: a real worker process (tests/worker_process.py) on real Redis, Docker and
git, GitHub as a fake HTTP server that can answer 502 or a rate limit on a chosen route a chosen number of
times, and failpoints (jobs/failpoints.py) that kill the worker at a chosen step.

One case = a docs run from `/steward docs` to its end, with one fault injected at one step; `Case.check` then
says what was wrong with the end (an empty list: nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.settings import Settings
from jobs import failpoints
from jobs.ledger import RunState, RunView
from tests.fake_github_server import serve
from tests.run_fixtures import BRANCH, MAINTAINER, FakeRunGitHub, Remote, runs
from tests.worker_process import Workers, approve, comment, log_pushes, pushes, wait_for

FULL = "/repos/Codertocat/Hello-World"
FINAL = (RunState.PROPOSED, RunState.CLOSED, RunState.FAILED)
CASE_BOUND = 120.0
"""The most one case may take from its first comment to its run's end (a kill costs the heartbeat TTL)."""


@dataclass(frozen=True)
class Route:
    """Which GitHub call a step makes: method, path pattern, and a text its body must hold."""

    method: str
    path: str
    body: str = ""

    def matches(self, request: httpx.Request) -> bool:
        if request.method != self.method or not re.search(self.path, request.url.path):
            return False
        return not self.body or self.body in request.content.decode(errors="replace")


ROUTES: dict[str, Route] = {
    "plan": Route("POST", rf"{FULL}/issues/\d+/comments$", "steward:plan-run"),
    "clone": Route("GET", rf"{FULL}$"),  # the repository's clone URL, read just before the clone
    "pr": Route("POST", rf"{FULL}/pulls$"),
    "status": Route("POST", rf"{FULL}/statuses/[0-9a-f]{{40}}$"),
    "result": Route("PATCH", rf"{FULL}/issues/comments/\d+$", "proposed in"),
}
"""The GitHub call of each step that makes one; setup, work, diff and push make none (git is not the API)."""
HTTP_FAULTS = ("502", "primary", "secondary")
FAULTS = ("kill", *HTTP_FAULTS)


def answer(fault: str) -> httpx.Response:
    """GitHub's answer for an HTTP fault, shaped as GitHub sends it."""
    if fault == "502":
        return httpx.Response(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>")
    if fault == "primary":
        reset = str(int(time.time()) + 2)
        headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
        body = {"message": "API rate limit exceeded for installation ID 1.", "status": "403"}
        return httpx.Response(403, json=body, headers=headers)
    body = {
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    }
    return httpx.Response(403, json=body, headers={"retry-after": "2"})


@dataclass
class HttpFaults:
    """One armed fault: the step's route answers `fault` `times` times. A 502 comes after the fake acted (the
    answer was lost, the effect was not): the truest 502 for a write, and the one that finds double posts."""

    route: Route | None = None
    fault: str = ""
    times: int = 0
    injected: int = 0

    def arm(self, route: Route, fault: str, times: int) -> None:
        self.route, self.fault, self.times = route, fault, times

    def _take(self, request: httpx.Request) -> bool:
        if self.route is None or self.injected >= self.times or not self.route.matches(request):
            return False
        self.injected += 1
        return True

    def before(self, request: httpx.Request) -> httpx.Response | None:
        if self.fault in ("primary", "secondary") and self._take(request):
            return answer(self.fault)
        return None

    def after(self, request: httpx.Request, done: httpx.Response) -> httpx.Response:
        if self.fault == "502" and done.is_success and self._take(request):
            return answer("502")
        return done


@dataclass
class Outcome:
    run: RunView | None
    plan_comments: int
    pulls: list[dict[str, object]]
    pushes: int
    bot_comments: list[str]
    remote_sha: str | None
    statuses: list[dict[str, object]]
    deaths: int
    injected: int
    seconds: float

    def problems(self) -> list[str]:
        """What is untrue about the end: an empty list when the case passed."""
        found: list[str] = []
        run = self.run
        if run is None or run.state not in FINAL:
            return [f"the run did not end: {run.state if run else 'no run'}"]
        if self.plan_comments != 1:
            found.append(f"{self.plan_comments} plan comments")
        if len(self.pulls) > 1:
            found.append(f"{len(self.pulls)} pull requests")
        if self.pushes > 1:
            found.append(f"the branch was pushed {self.pushes} times")
        if run.state == RunState.PROPOSED:
            if len(self.pulls) != 1 or run.pr_number != self.pulls[0]["number"]:
                found.append("proposed, but the ledger's PR is not GitHub's")
            elif self.remote_sha != self.pulls[0]["head"]["sha"]:  # type: ignore[index]
                found.append("the PR's head is not the pushed commit")
            if not any(s.get("sha") == self.remote_sha for s in self.statuses):
                found.append("no review status on the proposed commit")
            if not any(f"proposed in #{run.pr_number}" in body for body in self.bot_comments):
                found.append("the issue was not told of the PR")
        elif self.pulls:
            found.append(f"{run.state} in the ledger, but a PR is open")
        elif not any(run.id in body and "fail" in body.lower() for body in self.bot_comments):
            found.append(f"{run.state}, and the issue was not told why")
        return found

    def why(self) -> str:
        """How the run ended, in a few words for the result table."""
        assert self.run is not None
        said = f"{self.run.state.value}"
        told = [body for body in self.bot_comments if self.run.id in body and "fail" in body.lower()]
        if self.run.state != RunState.PROPOSED and told:
            said += ": " + " ".join(told[-1].split())[:90]
        return said


async def run_case(
    settings: Settings,
    tmp: Path,
    github: FakeRunGitHub,
    remote: Remote,
    step: str,
    fault: str,
    *,
    command: str = "/steward docs",
    branch: str = BRANCH,
    env: dict[str, str] | None = None,
    on_start: Callable[[Workers], None] | None = None,
    bound: float = CASE_BOUND,
) -> Outcome:
    """`command` (a docs run by default) then `/steward approve`, with `fault` at `step` ("none": no fault
    from GitHub or a failpoint), to the run's end. `env` goes to every worker process; `on_start` sees the
    workers once started (a fake model that kills one midway needs them); `bound` is the most each half (to
    the plan, then to the end) may take."""
    log_pushes(remote)
    faults = HttpFaults()
    extra = dict(env or {})
    if fault == "kill":
        extra |= {failpoints.ENV: f"{step}=kill", failpoints.STATE_ENV: str(tmp / "failpoints")}
    started = time.monotonic()
    with serve(github, faults) as (api_url, _calls):
        workers = Workers(settings, api_url, tmp / "worker.log", extra)
        workers.start()
        try:
            if on_start is not None:
                on_start(workers)
            if fault in HTTP_FAULTS:  # 502: three lost answers beat one request's retries; a rate limit: once
                faults.arm(ROUTES[step], fault, 3 if fault == "502" else 1)
            await comment(settings, command, MAINTAINER, 5001, "f1")

            async def planned() -> bool:
                if not github.plan_comments():  # (the worker makes the tables: no run before it)
                    return False
                found = await runs(settings)
                return bool(found) and found[0].state != RunState.PLANNING

            await wait_for(planned, bound, "the plan comment", tick=workers.supervise, error=TimeoutError)
            await approve(settings, 5002, "f2")

            async def ended() -> bool:
                found = await runs(settings)
                return bool(found) and found[0].state in FINAL and _told(github, found[0])

            with contextlib.suppress(TimeoutError):  # judged below: the run did not end
                await wait_for(ended, bound, "the run's end", tick=workers.supervise, error=TimeoutError)
            await asyncio.sleep(1.0)  # anything still in flight lands before the count
        finally:
            workers.stop()
    found = await runs(settings)
    return Outcome(
        run=found[0] if found else None,
        plan_comments=len(github.plan_comments()),
        pulls=list(github.pulls),
        pushes=pushes(remote, branch),
        bot_comments=github.bot_comments(7),
        remote_sha=remote.sha(branch),
        statuses=list(github.statuses),
        deaths=workers.deaths,
        injected=faults.injected,
        seconds=time.monotonic() - started,
    )


def _told(github: FakeRunGitHub, run: RunView) -> bool:
    if run.state == RunState.PROPOSED:
        return any(f"proposed in #{run.pr_number}" in body for body in github.bot_comments(7))
    return any(run.id in body and "fail" in body.lower() for body in github.bot_comments(7))


def record(path: Path | None, step: str, fault: str, outcome: Outcome, problems: list[str]) -> None:
    """One line of the result table (bench/fault_table.py renders them)."""
    if path is None:
        return
    row = {"step": step, "fault": fault, "ok": not problems, "problems": problems,
           "end": outcome.why() if outcome.run else "no run", "seconds": round(outcome.seconds, 1),
           "deaths": outcome.deaths, "injected": outcome.injected}  # fmt: skip
    with path.open("a") as out:
        out.write(json.dumps(row) + "\n")
