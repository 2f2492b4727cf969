"""A run's plan: the steps it will take, where it may write, its limits and token permissions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sandbox.limits import Limits

STEP_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class PlanStep(BaseModel):
    """One box of the plan's task list; the id is stable so edits to the title don't confuse parsing."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=STEP_ID_PATTERN)
    """Stable identifier, carried in a hidden marker beside the box."""
    title: str
    """What the step does, in one line."""
    detail: str = ""
    """Where it acts or what it runs (file paths, the command)."""
    ticked: bool = True
    """Whether the step will run; unticking it before approval drops it."""


class Plan(BaseModel):
    """What a writing run will do, shown to people before it acts."""

    workflow: str
    number: int
    steps: list[PlanStep] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    """Globs the run may change."""
    denied_paths: list[str] = Field(default_factory=list)
    """Globs the run may never change, whatever the steps say."""
    limits: Limits = Field(default_factory=Limits)
    permissions: dict[str, str] = Field(default_factory=dict)
    """The GitHub permissions of the run's installation token."""
    instructions: str = ""
    """Free text after the command, recorded as data."""
    instructions_note: str = ""
    """What the engine does with the instructions (the built-in engine: nothing)."""
    base_sha: str = ""
    """The default branch's head when the plan was made."""
    engine: str = "builtin"

    def kept(self) -> list[PlanStep]:
        """Steps that will run."""
        return [step for step in self.steps if step.ticked]

    def dropped(self) -> list[PlanStep]:
        """Steps unticked, which will not run."""
        return [step for step in self.steps if not step.ticked]

    def with_ticked(self, ticked: set[str]) -> Plan:
        """The plan with exactly these step ids ticked (as read from the comment at approval time)."""
        steps = [step.model_copy(update={"ticked": step.id in ticked}) for step in self.steps]
        return self.model_copy(update={"steps": steps})
