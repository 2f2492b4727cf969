"""The docs workflow's tool for the agent engine: a changelog entry, as the built-in engine writes one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import anyio
from pydantic import Field

from app.config.model import DocsConfig, Section
from jobs.agent import workspace
from jobs.agent.context import AgentTool, ToolContext, ToolFn
from jobs.agent.errors import Refused, ToolError
from jobs.workflows.docs.changelog import MAX_TITLE_CHARS, Entry, add_entry, choose_section
from jobs.workflows.docs.files import read_text
from sandbox import hostfs
from sandbox.hostfs import UnsafePath


async def _current(ctx: ToolContext, path: str) -> str | None:
    """The changelog's text, None when it does not exist (a file it cannot read is an error, not absent)."""
    path = workspace.repo_path(path)
    try:
        present = await anyio.to_thread.run_sync(hostfs.lstat, ctx.workspace, path)
        text = await anyio.to_thread.run_sync(read_text, ctx.workspace, path) if present else None
    except UnsafePath as exc:
        raise Refused(str(exc)) from None
    except OSError as exc:
        raise ToolError(f"{path}: {exc.strerror or exc}") from None
    if present and text is None:
        raise ToolError(f"{path} is not UTF-8 text Steward can edit (or it is too large)")
    return text


def _changelog_entry(config: DocsConfig) -> Callable[[ToolContext], ToolFn]:
    def make(ctx: ToolContext) -> ToolFn:
        async def changelog_entry(
            section: Annotated[
                Section | None,
                Field(description="Keep a Changelog section; default: from the issue's labels"),
            ] = None,
            summary: Annotated[
                str | None,
                Field(description="The entry's text; default: the issue's title", max_length=MAX_TITLE_CHARS),
            ] = None,
        ) -> str:
            if ctx.item is None:
                raise ToolError("this run is not about an issue, so there is nothing to enter")
            issue = ctx.item.issue
            chosen = section or choose_section(issue.labels, config.sections, config.default_section)
            entry = Entry(issue.number, summary or issue.title, issue.html_url, chosen)
            text = await _current(ctx, config.changelog)
            edit = add_entry(text, entry, create=config.create_changelog)
            if not edit.changed or edit.text is None:
                return f"{config.changelog} unchanged: {edit.note}"
            await workspace.write(ctx, config.changelog, edit.text.encode("utf-8"))
            return f"{config.changelog}: {edit.note}"

        return changelog_entry

    return make


def tools(config: DocsConfig) -> tuple[AgentTool, ...]:
    """What the docs workflow adds to Steward's own tools (ToolContext.extra), for this configuration."""
    return (
        AgentTool(
            "changelog_entry",
            f"Add this issue's entry to {config.changelog} under Unreleased (never twice).",
            _changelog_entry(config),
        ),
    )
