"""The run's issue for the model: its title, body and comments, as data in one labelled block."""

from __future__ import annotations

from collections.abc import Sequence

from app.github.protocol import IssueComment
from jobs.agent.data import as_data, cut, one_line
from jobs.runs.workitem import WorkItem

BODY_CHARS = 32 * 1024
COMMENT_CHARS = 8 * 1024
MAX_COMMENTS = 50


def issue_text(item: WorkItem, comments: Sequence[IssueComment] = ()) -> str:
    """What get_issue returns: Steward's header (trusted), then everything the authors wrote, as data."""
    issue = item.issue
    kind = "pull request" if issue.is_pull_request else "issue"
    parts = [
        f"title: {one_line(issue.title, 500)}",
        f"author: {one_line(issue.author)}",
        f"labels: {', '.join(one_line(label) for label in issue.labels) or 'none'}",
        f"state: {issue.state}",
        "",
        "body:",
        cut(issue.body or "", BODY_CHARS),
    ]
    for index, comment in enumerate(comments[:MAX_COMMENTS], start=1):
        parts += ["", f"comment {index} by {one_line(comment.author)}:", cut(comment.body, COMMENT_CHARS)]
    shown = min(len(comments), MAX_COMMENTS)
    head = f"{kind} #{issue.number}, with {shown} of {len(comments)} comment(s)"
    return f"{head}\n" + as_data(f"{kind} #{issue.number} as its authors wrote it", "\n".join(parts))
