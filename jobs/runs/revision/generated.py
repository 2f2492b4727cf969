"""What Steward generated on a revision's branch, as the plan and the work read it from the host's clone:
its own files (regenerated in place) and those a person edited since (left as they are)."""

from __future__ import annotations

import re

from jobs.runs.finish import bot_identity
from jobs.runs.revision.model import GeneratedFile, PushedCommit
from sandbox.authorship import Author, steward_added_or_none
from sandbox.git import Workspace

MAX_NAME = 60
_NOT_LOGIN = re.compile(r"[^A-Za-z0-9._-]+")


def _who(author: Author, logins: dict[str, str]) -> str:
    """The GitHub login GitHub gave for the commit, else git's author name reduced to a login's letters."""
    found = logins.get(author.sha) or _NOT_LOGIN.sub("-", author.name).strip("-")
    return found[:MAX_NAME] or "someone"


async def generated_files(
    ws: Workspace, base: str, bot: str, pushed: list[PushedCommit]
) -> list[GeneratedFile]:
    """The files Steward's commits added since `base` (the default branch), each with who edited it since."""
    if not base:
        return []
    found = await steward_added_or_none(ws.root, ws.git_dir, base, ws.commit, bot_identity(bot))
    logins = {commit.sha: commit.author for commit in pushed if commit.author}
    files = []
    for added in found:
        people = list(dict.fromkeys(_who(author, logins) for author in added.edits))
        files.append(GeneratedFile(path=added.path, edited_by=people))
    return sorted(files, key=lambda file: file.path)
