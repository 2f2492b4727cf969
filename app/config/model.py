"""The repository's `.github/steward.yml`: each field's docstring becomes the schema and the reference."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.config.types import PREFIX_PATTERN, CategoryName, Duration, Glob, McpServerName, Size, TimeZone

Role = Literal["none", "read", "triage", "write", "maintain", "admin"]
"""GitHub's repository roles, weakest first; `none` means anyone."""
Section = Literal["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]
"""The sections of a Keep a Changelog release."""
DEFAULT_SECTIONS: dict[str, Section] = {
    "bug": "Fixed",
    "security": "Security",
    "enhancement": "Added",
    "feature": "Added",
    "deprecation": "Deprecated",
    "removal": "Removed",
}
"""Common GitHub labels and the changelog section each one files an entry under."""


def _wants_int(annotation: Any) -> bool:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_wants_int(arg) for arg in typing.get_args(annotation))
    return annotation is int


class _Strict(BaseModel):
    """Unknown keys are typos, and typos are errors; field docstrings reach the schema.

    Strict, so that the validator accepts exactly what the JSON schema does (no "yes" for true, no "3" for 3);
    patterns are Python's, so that the schema's lookaheads mean the same in both.
    """

    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        populate_by_name=True,
        strict=True,
        regex_engine="python-re",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _integral_floats(cls, value: object, info: ValidationInfo) -> object:
        """5.0 is an integer to JSON Schema, and so to editors: accept it as one here too."""
        name = info.field_name
        if not isinstance(value, float) or not value.is_integer() or name is None:
            return value
        return int(value) if _wants_int(cls.model_fields[name].annotation) else value


class CommandOverride(_Strict):
    """Who may run one command here, and whether it is offered at all."""

    permission: Role | None = None
    """The least GitHub role needed; unset keeps the command's default. Commands that start writing work
    cannot be opened below `write`."""
    enabled: bool = True
    """Offer this command in this repository."""


class CommandsConfig(_Strict):
    """Per-command overrides, e.g. `docs: {permission: maintain}`; `steward help` lists each default."""

    help: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward help`: lists the commands this repository allows."""
    status: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward status`: the runs on this issue or pull request."""
    duplicates: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward duplicates`: look for earlier issues this one repeats."""
    not_duplicate: CommandOverride = Field(default_factory=CommandOverride, alias="not-duplicate")
    """`/steward not-duplicate #N`: mark a suggestion as wrong."""
    docs: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward docs`: plan and propose a documentation update."""
    tests: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward tests`: plan and propose tests."""
    approve: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward approve`: run the waiting plan (never below the workflow's approval level)."""
    cancel: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward cancel`: stop queued or running runs here."""
    retry: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward retry`: run the last failed or cancelled run again."""
    revise: CommandOverride = Field(default_factory=CommandOverride)
    """`/steward revise`: revise a Steward pull request from its review comments (never below the
    workflow's approval level)."""

    def get(self, name: str) -> CommandOverride:
        """The override of a command by its written name (`not-duplicate`)."""
        override = getattr(self, name.replace("-", "_"), None)
        return override if isinstance(override, CommandOverride) else CommandOverride()


class LimitsOverride(_Strict):
    """Sandbox limits for one workflow; each may only be lower than the policy's."""

    memory: Size | None = None
    """Memory in bytes; accepts 512m, 2g."""
    cpus: float | None = Field(default=None, gt=0)
    """CPU cores."""
    pids: int | None = Field(default=None, gt=0)
    """Most processes and threads at once."""
    command_timeout: Duration | None = None
    """Wall seconds for one command; accepts 90s, 10m."""
    run_timeout: Duration | None = None
    """Wall seconds for the whole run; accepts 30m, 1h."""
    output_bytes: Size | None = None
    """Output kept per command; accepts 64k, 1m."""
    disk: Size | None = None
    """Bytes the work tree may hold, checkout included; accepts 512m, 2g (at least 16m)."""


class BudgetOverride(_Strict):
    """The agent engine's budget for one workflow; each may only be lower than the policy's."""

    model_requests: int | None = Field(default=None, ge=1)
    """Most requests to the model (retries count)."""
    input_tokens: int | None = Field(default=None, ge=1)
    """Most input tokens over the run."""
    output_tokens: int | None = Field(default=None, ge=1)
    """Most output tokens over the run."""
    cost: float | None = Field(default=None, ge=0)
    """Most cost over the run, in the currency of the operator's model prices."""
    tool_calls: int | None = Field(default=None, ge=1)
    """Most tool calls, refused ones included."""
    wall_time: Duration | None = None
    """Wall seconds the agent may take; accepts 90s, 10m."""


class ApprovalConfig(_Strict):
    """Whether a plan waits for `/steward approve`, and from whom."""

    required: bool = True
    """Wait for an approval before running; a policy that always requires approval wins."""
    level: Role = "maintain"
    """The least role whose `/steward approve` counts; never below the policy's minimum."""
    allow_self: bool = False
    """Whether the person who asked for the run may approve its plan themselves (off: someone else must,
    as for the review gate). Local runs (`steward run`) are approved on the terminal and ignore it."""


class SetupConfig(_Strict):
    """How the sandbox prepares the project before any work (the only phase that may reach the network)."""

    install: str | None = None
    """Shell command that installs the project's dependencies, e.g. `pip install -e .[test]`."""
    image: str | None = None
    """Sandbox image to use instead of Steward's default: one the operator allows (STEWARD_SANDBOX_IMAGES) and
    has on the Docker host; any other fails the run before a sandbox starts."""


class WorkflowConfig(_Strict):
    """What every workflow shares."""

    enabled: bool = True
    """Run this workflow in this repository."""
    mode: Literal["normal", "shadow"] = "normal"
    """`normal` acts on GitHub. `shadow` runs the workflow in full (sandbox and model included) but posts,
    labels and pushes nothing and needs no approval: the ledger records what it would have done, and
    `steward shadow report` scores that against what maintainers did afterwards."""


MAX_GLOBS = 100
"""Globs in one list: each is checked against the policy's, and no repository needs more."""


class WritingWorkflowConfig(WorkflowConfig):
    """A workflow that proposes changes: where it may write, who approves, how much it may use."""

    paths: list[Glob] | None = Field(default=None, max_length=MAX_GLOBS)
    """Writable path globs (`*`, `?`, `**`; anchored at the root); unset means the policy's. Each must lie
    inside the policy's globs."""
    deny: list[Glob] = Field(default_factory=list, max_length=MAX_GLOBS)
    """Extra path globs this workflow may never change here (added to the policy's denied paths)."""
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    """The approval rule of this workflow's plans."""
    limits: LimitsOverride = Field(default_factory=LimitsOverride)
    """Tighter sandbox limits than the policy's."""
    max_files: int | None = Field(default=None, gt=0)
    """Most files one proposal may touch; unset keeps the policy's, and it may only be lower."""
    max_lines: int | None = Field(default=None, gt=0)
    """Most changed lines in one proposal; unset keeps the policy's, and it may only be lower."""
    max_file_bytes: Size | None = None
    """Largest file one proposal may write (accepts 512k, 1m); unset keeps the policy's, and it may only be
    lower."""
    max_bytes: Size | None = None
    """Most bytes one proposal may write over all its files (accepts 2m); unset keeps the policy's, and it
    may only be lower."""
    requester_may_approve_review: bool = False
    """Whether the person who asked for the run may also give the approving review that turns
    `steward/review` green."""
    revise_on: list[Literal["changes_requested"]] = Field(default_factory=list)
    """Reviews that start a revision of this workflow's pull requests by themselves: `changes_requested`
    (a "Request changes" review by someone with the approval level). Empty: only `/steward revise` does."""
    engine: Literal["builtin", "agent"] = "builtin"
    """`builtin` needs no model; `agent` drives the operator's model through Steward's own tools."""
    budget: BudgetOverride = Field(default_factory=BudgetOverride)
    """The agent engine's budget here (lower than the policy's only)."""
    mcp_servers: list[McpServerName] = Field(default_factory=list)
    """External MCP servers the agent engine may use here, by the names the operator declared in
    STEWARD_MCP_SERVERS; only the tools the operator allows are offered, as `<server>_<tool>`. A name the
    operator did not declare refuses the agent's plan."""


class DocsConfig(WritingWorkflowConfig):
    """The docs workflow: changelog entries and generated blocks."""

    on: list[Literal["merged", "closed"]] = Field(default_factory=list)
    """Events that start a docs run by themselves, as `/steward docs` from the person who merged or closed
    would (the same role check, approval rule and noise limits): `merged`, a pull request merges (never one
    Steward opened); `closed`, an issue closes as completed (with both listed, an issue a commit closed, as a
    merged pull request's "Fixes #N" does, is left to `merged`). Empty: only the command starts one."""

    changelog: str = "CHANGELOG.md"
    """The changelog file (Keep a Changelog format)."""
    create_changelog: bool = False
    """Create the changelog when it does not exist yet."""
    sections: dict[str, Section] = Field(default_factory=lambda: dict(DEFAULT_SECTIONS))
    """Issue or pull-request label -> changelog section; the first matching label wins."""
    default_section: Section = "Changed"
    """The section used when no label matches."""


class TestsConfig(WritingWorkflowConfig):
    """The tests workflow: write tests, keep those that pass reliably."""

    __test__ = False  # not a pytest class

    install: str | None = None
    """Setup command for this workflow; unset uses `setup.install`."""
    image: str | None = None
    """Sandbox image for this workflow; unset uses `setup.image`. Only images the operator allows."""
    generation_seconds: int = Field(default=60, ge=5, le=1800)
    """Wall seconds the test generator (Pynguin) may search for tests of one module."""
    candidate_seconds: int = Field(default=30, ge=1, le=600)
    """Wall seconds one run of one candidate test may take before it is dropped as too slow."""
    max_modules: int = Field(default=5, ge=1, le=50)
    """Most modules one run writes tests for when it picks the least-covered ones itself."""


class DuplicatesConfig(WorkflowConfig):
    """Duplicate triage: one comment listing likely earlier duplicates."""

    on_open: bool = True
    """Triage every newly opened issue."""
    on_pull_requests: bool = False
    """Also triage newly opened pull requests."""
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Calibrated score (0..1) the best candidate needs before Steward comments. Unset: the retrieval mode's
    default, chosen for precision (0.4 hybrid, 0.7 lexical only: each held precision 0.82 or more on GitHub
    projects the model was not fitted on; jobs/duplicates/README.md)."""
    max_suggestions: int = Field(default=3, ge=1, le=10)
    """Most candidates listed in one comment."""
    label: str | None = None
    """Label added when a likely duplicate is found; unset adds none."""
    exclude_labels: list[str] = Field(default_factory=list)
    """Issues carrying any of these labels are neither triaged nor suggested."""
    exclude_authors: list[str] = Field(default_factory=list)
    """Issues by these logins are not triaged."""
    include_bots: bool = False
    """Also triage issues opened by bots."""


class WorkflowsConfig(_Strict):
    """Per-workflow settings."""

    docs: DocsConfig = Field(default_factory=DocsConfig)
    """The docs workflow."""
    tests: TestsConfig = Field(default_factory=TestsConfig)
    """The tests workflow."""
    duplicates: DuplicatesConfig = Field(default_factory=DuplicatesConfig)
    """Duplicate triage."""


class NoiseLimits(_Strict):
    """How much Steward may do in this repository, so it never floods it."""

    max_open_prs: int = Field(default=5, ge=0)
    """Open Steward pull requests at once; further runs wait or are refused."""
    comments_per_hour: int = Field(default=30, ge=0)
    """Comments Steward posts per hour (updates of its own comments do not count)."""
    runs_per_day: int = Field(default=20, ge=0)
    """Runs started per day."""


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
"""Days of the week, Monday first (ISO 8601)."""


class DigestConfig(_Strict):
    """The weekly review: one issue (or Discussion) a week, titled by the ISO week, edited on a rerun."""

    enabled: bool = False
    """Publish the weekly review in this repository (off unless asked for)."""
    day: Weekday = "monday"
    """The day of the week it is published on, in `timezone`."""
    hour: int = Field(default=9, ge=0, le=23)
    """The hour (0-23) it is published at, in `timezone`; it covers the seven days before."""
    timezone: TimeZone = "UTC"
    """The IANA time zone of `day` and `hour` (e.g. `Europe/Paris`); the title's ISO week is this zone's."""
    discussion: CategoryName | None = None
    """The name of a Discussion category to publish in instead of an issue (e.g. `Announcements`); unset:
    an issue."""
    stale_days: int = Field(default=14, ge=1, le=365)
    """An open pull request not updated for this many days is listed as stale."""
    max_items: int = Field(default=20, ge=1, le=100)
    """Most items listed per section (the counts still count them all)."""


class RepoConfig(_Strict):
    """`.github/steward.yml`: every key is optional; a repository without the file gets these defaults."""

    prefix: str = Field(default="/steward", pattern=PREFIX_PATTERN)
    """The command prefix, e.g. `/steward` or `/bot`."""
    commands: CommandsConfig = Field(default_factory=CommandsConfig)
    """Who may run which command."""
    ignore_bots: bool = True
    """Ignore commands written by bot accounts (Steward always ignores its own comments)."""
    allowed_bots: list[str] = Field(default_factory=list)
    """Bot logins whose commands are read even when `ignore_bots` is on, e.g. `renovate[bot]`."""
    setup: SetupConfig = Field(default_factory=SetupConfig)
    """How the sandbox installs the project."""
    workflows: WorkflowsConfig = Field(default_factory=WorkflowsConfig)
    """Per-workflow settings."""
    noise: NoiseLimits = Field(default_factory=NoiseLimits)
    """Repository-wide budgets: open pull requests, comments an hour, runs a day."""
    digest: DigestConfig = Field(default_factory=DigestConfig)
    """The weekly review digest (opt-in)."""

    def images(self) -> dict[str, str]:
        """Every sandbox image this configuration names, by field (each must be on the allowlist)."""
        named = {"setup.image": self.setup.image, "workflows.tests.image": self.workflows.tests.image}
        return {field: image for field, image in named.items() if image is not None}
