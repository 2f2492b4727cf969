"""What a local run works for: an issue from `gh issue view --json`, or the item the last commit names."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from app.github.protocol import IssueRecord

GH_FIELDS = "number,title,body,labels,state,url"
_REFERENCE = re.compile(r"\(#(\d+)\)|#(\d+)")
LOCAL_PREFIX = "local:"
"""A local run's repository is recorded as `local:<the checkout's top directory>`."""


def repo_key(top: Path) -> str:
    """How the ledger names a local checkout's runs."""
    return f"{LOCAL_PREFIX}{top}"


def repo_filter(value: str) -> str:
    """`runs list --repo`: owner/name as is; a directory (., ../x, /abs) as `steward run` recorded it."""
    if value.startswith(LOCAL_PREFIX) or not Path(value).expanduser().is_dir():
        return value
    path = Path(value).expanduser().resolve()
    probe = subprocess.run(  # the checkout's top directory, as `steward run` records it
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    top = Path(probe.stdout.strip()) if probe.returncode == 0 and probe.stdout.strip() else path
    return repo_key(top)


class LocalRunError(Exception):
    """The local run cannot start; the message says what to fix."""


def issue_from_json(text: str, source: str = "--issue-json") -> IssueRecord:
    """`gh issue view N --json number,title,body,labels,state,url` output (labels are objects with a name)."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LocalRunError(f"{source} is not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("number"), int) or data["number"] <= 0:
        raise LocalRunError(
            f"{source} must be the output of `gh issue view N --json {GH_FIELDS}` "
            " (a positive `number` is missing)"
        )
    labels = []
    for label in data.get("labels") or []:
        if isinstance(label, dict) and isinstance(label.get("name"), str):
            labels.append(label["name"])
        elif isinstance(label, str):
            labels.append(label)
    url = str(data.get("url") or "")
    return IssueRecord(
        number=data["number"],
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or "open").lower(),
        is_pull_request="/pull/" in url,
        author="",
        labels=labels,
        html_url=url,
    )


def read_issue(path: Path) -> IssueRecord:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LocalRunError(f"cannot read {path}: {exc.strerror}") from None
    return issue_from_json(text, str(path))


def issue_from_commit(subject: str) -> IssueRecord:
    """Without --issue-json: the issue or PR the last commit's subject names (`Fix x (#12)`, `... #12`)."""
    match = _REFERENCE.search(subject)
    if match is None:
        raise LocalRunError(
            "the last commit names no issue or pull request (#N); pass one with "
            f"--issue-json FILE (from `gh issue view N --json {GH_FIELDS}`)"
        )
    number = int(match.group(1) or match.group(2))
    title = _REFERENCE.sub("", subject).strip(" -:") or subject
    return IssueRecord(number=number, title=title, body="", state="closed", is_pull_request=False, author="")
