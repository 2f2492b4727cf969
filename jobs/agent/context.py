"""What Steward's tool server works on, what a workflow adds to it, and what it reports after each call."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.github.protocol import IssueComment
from jobs.runs.workitem import Exec, WorkItem
from policies.model import Policy

ToolFn = Callable[..., Awaitable[str]]
"""A tool's body: its keyword parameters (typed, described with Annotated) are the tool's arguments; it
returns the text the model reads."""


@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call, as the trace keeps it: arguments bounded, the result as digest and excerpt."""

    name: str
    arguments: dict[str, Any]
    """The call's arguments, long ones cut (`arguments_sha256` covers them whole)."""
    arguments_sha256: str
    """sha256 of the arguments as canonical JSON (sorted keys, UTF-8)."""
    ok: bool
    """The tool did what was asked (False when it was refused or failed)."""
    refused: bool
    """Refused by Steward: a tool the policy does not list, a path it may not read or write, a limit."""
    reason: str
    """Why it was refused or failed; empty when ok."""
    result_sha256: str
    """Digest of the whole text the model was given (the error message when it failed)."""
    result_excerpt: str
    duration: float
    """Seconds, waiting for earlier calls excluded."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


OnCall = Callable[[ToolCallRecord], Awaitable[None]]
"""Told of every call, refused ones included, before the model sees the result; if it raises, the call
fails with a protocol error (a call that cannot be traced is not let through)."""


@dataclass(frozen=True)
class ToolContext:
    """One run as its tools see it. Everything under `workspace` is hostile: touched only through
    sandbox.hostfs, never through a link, and only between sandbox commands (calls are serialized)."""

    workspace: Path
    """The host side of the sandbox's /workspace."""
    git_dir: Path | None
    """The checkout's repository (outside the workspace), for listing files; None: the regular files."""
    policy: Policy
    """The effective policy: `tools` offered, `writable`/`denied` paths and `max_file_bytes`, `max_files`."""
    run: Exec
    """Runs one command in the run's sandbox (work phase: no network, the run's limits; an `exec` step)."""
    on_call: OnCall
    item: WorkItem | None = None
    """What the run is about, for get_issue."""
    comments: Sequence[IssueComment] = ()
    """The item's comments, for get_issue."""
    extra: Sequence[AgentTool] = ()
    """Tools the workflow contributes (run_tests, coverage, changelog_entry); offered only if listed."""
    written: set[str] = field(default_factory=set)
    """Paths the tools wrote so far (for the policy's `max_files`); shared by every tool of the run."""


@dataclass(frozen=True)
class AgentTool:
    """A tool definition: its name, what the model is told it does, and how to bind it to a run."""

    name: str
    description: str
    make: Callable[[ToolContext], ToolFn]
