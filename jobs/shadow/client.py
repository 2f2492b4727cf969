"""The GitHub client of a shadow run: reads go to GitHub, every write is recorded in the ledger instead.

Each write method of GitHubKitClient is overridden, and `_json` refuses any method but GET, so a write this
module forgot would fail loudly rather than reach GitHub."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.github.client import GitHubKitClient
from app.github.protocol import CheckAnnotation, IssueComment, PullRef, RepoId
from jobs.shadow.store import Effect, Sessions, record

_MARKERS = re.compile(r"<!-- steward:[^>]{1,200}-->")
RECORDED_ID = 0
"""The id a recorded comment, pull request or check run gets: none was made on GitHub."""


class ShadowWriteRefused(RuntimeError):
    """A write was about to reach GitHub from a shadow run; it was stopped instead."""


@dataclass(frozen=True)
class ShadowTarget:
    """Where the run's effects are filed: its repository, item, workflow and run id (or `triage`)."""

    repo: str
    number: int
    workflow: str
    scope: str


def comment_key(body: str) -> str:
    """A comment is the same comment when it carries the same hidden markers (as upsert_comment finds it)."""
    return " ".join(_MARKERS.findall(body)) or "unmarked"


class ShadowClient(GitHubKitClient):
    """GitHubKitClient with its writes turned into shadow records."""

    def __init__(self, inner: GitHubKitClient, sessions: Sessions, target: ShadowTarget, bot: str) -> None:
        self.__dict__.update(inner.__dict__)  # the same githubkit client and retry policy, for the reads
        self._sessions = sessions
        self._target = target
        self._bot = bot

    def __repr__(self) -> str:
        return "ShadowClient(<installation token>)"

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        if method.upper() != "GET":
            raise ShadowWriteRefused(f"a shadow run does not {method} {url.split('?')[0]}")
        return await super()._json(method, url, **kwargs)

    async def record_effect(
        self, repo: RepoId, number: int, kind: str, key: str, body: str = "", **data: Any
    ) -> None:
        target = self._target
        effect = Effect(repo.full_name, number, target.workflow, target.scope, kind, key, body, data)
        await record(self._sessions, effect)

    async def create_comment(self, repo: RepoId, number: int, body: str) -> IssueComment:
        await self.record_effect(repo, number, "comment", comment_key(body), body)
        return IssueComment(id=RECORDED_ID, body=body, author=self._bot)

    async def update_comment(self, repo: RepoId, comment_id: int, body: str) -> IssueComment:
        # Only an existing comment (made before the workflow went into shadow mode) is ever edited.
        await self.record_effect(
            repo, self._target.number, "comment", comment_key(body), body, comment_id=comment_id
        )
        return IssueComment(id=comment_id, body=body, author=self._bot)

    async def add_labels(self, repo: RepoId, number: int, labels: list[str]) -> None:
        await self.record_effect(repo, number, "labels", ",".join(sorted(labels)), labels=sorted(labels))

    async def create_pull(self, repo: RepoId, *, title: str, body: str, head: str, base: str) -> PullRef:
        await self.record_effect(
            repo, self._target.number, "pull", head, body, title=title, head=head, base=base
        )
        return PullRef(RECORDED_ID, "", head, "", "open", False, self._bot)

    async def set_status(
        self, repo: RepoId, sha: str, state: str, *, context: str, description: str, target_url: str = ""
    ) -> None:
        await self.record_effect(
            repo, self._target.number, "status", f"{sha}:{context}", description,
            sha=sha, state=state, context=context,
        )  # fmt: skip

    async def upsert_check_run(
        self,
        repo: RepoId,
        sha: str,
        *,
        name: str,
        conclusion: str,
        title: str,
        summary: str,
        annotations: list[CheckAnnotation],
    ) -> int:
        await self.record_effect(
            repo, self._target.number, "check", f"{sha}:{name}", summary,
            sha=sha, name=name, conclusion=conclusion, title=title, annotations=len(annotations),
        )  # fmt: skip
        return RECORDED_ID


def shadowed(client: GitHubKitClient, sessions: Sessions, target: ShadowTarget, bot: str) -> ShadowClient:
    """The client with its writes recorded for `target` (an already shadowed client is re-targeted)."""
    return ShadowClient(client, sessions, target, bot)
