"""The built-in docs engine on a real git checkout: plan what is stale, apply what was approved."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.config.model import DocsConfig
from app.github.protocol import IssueRecord
from jobs.plan import NOT_ACTED_ON
from jobs.workflows.docs.engine import CHANGELOG_STEP, DocsOutcome, apply_docs, plan_docs
from policies.loader import effective_policy, load_policy
from policies.model import Policy
from sandbox.base import CommandResult

pytestmark = pytest.mark.anyio

ISSUE = IssueRecord(
    number=12,
    title="Crash when the config is empty",
    body="",
    state="closed",
    is_pull_request=False,
    author="alice",
    labels=["bug"],
    html_url="https://github.com/octo/widgets/issues/12",
)
CHANGELOG = "# Changelog\n\n## [Unreleased]\n\n## [1.0.0]\n\n- First\n"
README = """# Widgets

<!-- steward:exec widgets --help -->
old help
<!-- /steward:exec -->

<!-- steward:exec widgets version -->
<!-- /steward:exec -->

<!-- steward:exec -->
<!-- /steward:exec -->
"""
GUIDE = "# Guide\n\n<!-- steward:exec widgets list -->\n<!-- /steward:exec -->\n"
CODE = (
    '"""Docs in code are not docs paths.\n<!-- steward:exec widgets --help -->\n<!-- /steward:exec -->\n"""\n'
)
WORKFLOW = "name: ci\n# <!-- steward:exec widgets --help -->\n# <!-- /steward:exec -->\n"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "widgets"
    files = {
        "CHANGELOG.md": CHANGELOG,
        "README.md": README,
        "docs/guide.md": GUIDE,
        "src/widgets.py": CODE,
        ".github/workflows/ci.md": WORKFLOW,
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "T")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


class Runner:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: list[str] = []
        self.fail = fail or set()

    async def __call__(self, argv: list[str]) -> CommandResult:
        command = " ".join(argv)
        self.calls.append(command)
        if command in self.fail:
            return CommandResult(1, "boom\n", 0.1)
        return CommandResult(0, f"output of {command}\n", 0.1)


def setup(config: DocsConfig | None = None) -> tuple[DocsConfig, Policy]:
    config = config or DocsConfig()
    return config, effective_policy(load_policy("docs"), config)


def test_plan_lists_only_what_the_policy_lets_it_change(repo: Path) -> None:
    config, policy = setup()
    plan = plan_docs(repo, ISSUE, config, policy, instructions="mention widgets list", base_sha="abc")
    titles = [(s.id == CHANGELOG_STEP, s.title, s.detail) for s in plan.steps]
    assert titles[0][0] and "Unreleased → Fixed" in titles[0][1] and "[#12](" in titles[0][2]
    assert sorted(d for _, _, d in titles[1:]) == ["widgets --help", "widgets list", "widgets version"]
    assert all("src/" not in t and ".github" not in t for _, t, _ in titles)
    assert any("README.md line 10" in note and "no command" in note for note in plan.notes)
    assert plan.instructions == "mention widgets list" and plan.instructions_note == NOT_ACTED_ON
    assert plan.approval_required and plan.approval_level == "maintain" and plan.base_sha == "abc"
    assert plan.permissions["contents"] == "write" and ".github/workflows/**" in plan.denied_paths
    again = plan_docs(repo, ISSUE, config, policy)
    assert [s.id for s in again.steps] == [s.id for s in plan.steps]  # stable ids


async def test_apply_honours_unticked_steps_and_is_idempotent(repo: Path) -> None:
    config, policy = setup()
    plan = plan_docs(repo, ISSUE, config, policy, instructions="please also fix typos")
    version_step = next(s.id for s in plan.steps if s.detail == "widgets version")
    approved = plan.with_ticked({s.id for s in plan.steps} - {version_step})
    runner = Runner()
    outcome = await apply_docs(repo, approved, ISSUE, config, runner)
    assert outcome.changed == ["CHANGELOG.md", "README.md", "docs/guide.md"]
    assert sorted(runner.calls) == ["widgets --help", "widgets list"]
    statuses = {s.step_id: s.status for s in outcome.steps}
    assert statuses[version_step] == "dropped" and statuses[CHANGELOG_STEP] == "done"
    assert list(statuses.values()).count("done") == 3 and outcome.problems == []
    assert outcome.notes == [NOT_ACTED_ON]
    readme = (repo / "README.md").read_text()
    assert "```text\noutput of widgets --help\n```" in readme and "old help" not in readme
    assert "<!-- steward:exec widgets version -->\n<!-- /steward:exec -->" in readme  # dropped: untouched
    changelog = (repo / "CHANGELOG.md").read_text()
    assert (
        "### Fixed\n\n- Crash when the config is empty ([#12](https://github.com/octo/widgets/issues/12))"
        in changelog
    )
    changed = git(repo, "status", "--porcelain").split("\n")
    assert sorted(line[3:] for line in changed if line) == ["CHANGELOG.md", "README.md", "docs/guide.md"]

    git(repo, "commit", "-qam", "docs")
    rerun = await apply_docs(repo, approved, ISSUE, config, Runner())
    assert rerun.changed == [] and git(repo, "status", "--porcelain") == ""
    assert {s.step_id: s.status for s in rerun.steps}[CHANGELOG_STEP] == "unchanged"
    replanned = plan_docs(repo, ISSUE, config, policy)
    assert CHANGELOG_STEP not in {s.id for s in replanned.steps}
    assert any("already has an entry for #12" in note for note in replanned.notes)


async def test_a_failing_command_fails_its_step_only(repo: Path) -> None:
    config, policy = setup()
    plan = plan_docs(repo, ISSUE, config, policy)
    outcome = await apply_docs(repo, plan, ISSUE, config, Runner(fail={"widgets --help"}))
    failed = [s for s in outcome.steps if s.status == "failed"]
    assert len(failed) == 1 and "exited with 1" in failed[0].detail
    assert len(outcome.problems) == 1 and "README.md" in outcome.problems[0]
    assert "old help" in (repo / "README.md").read_text()
    assert "README.md" in outcome.changed  # the version block still refreshed


async def test_changelog_absent_is_created_only_when_configured(repo: Path) -> None:
    git(repo, "rm", "-q", "CHANGELOG.md")
    config, policy = setup()
    plan = plan_docs(repo, ISSUE, config, policy)
    assert CHANGELOG_STEP not in {s.id for s in plan.steps}
    assert any("create_changelog" in note for note in plan.notes)
    config, policy = setup(DocsConfig(create_changelog=True, sections={"bug": "Security"}))
    plan = plan_docs(repo, ISSUE, config, policy)
    assert plan.steps[0].title.startswith("Create CHANGELOG.md") and "Security" in plan.steps[0].title
    outcome = await apply_docs(repo, plan, ISSUE, config, Runner())
    created = (repo / "CHANGELOG.md").read_text()
    assert created.startswith("# Changelog") and "### Security\n\n- Crash" in created
    assert "CHANGELOG.md" in outcome.changed


async def test_a_changelog_linked_outside_the_checkout_is_not_written(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("# Changelog\n")
    config, policy = setup(DocsConfig(create_changelog=True))
    plan = plan_docs(repo, ISSUE, config, policy)  # planned on the file; the link comes after
    (repo / "CHANGELOG.md").unlink()
    (repo / "CHANGELOG.md").symlink_to(outside)
    outcome = await apply_docs(repo, plan, ISSUE, config, Runner())
    step = {s.step_id: s for s in outcome.steps}[CHANGELOG_STEP]
    assert step.status == "failed" and "symbolic link" in step.detail
    assert outside.read_text() == "# Changelog\n" and "CHANGELOG.md" not in outcome.changed
    replanned = plan_docs(repo, ISSUE, config, policy)
    assert CHANGELOG_STEP not in {s.id for s in replanned.steps}
    assert any("CHANGELOG.md" in note and "symbolic link" in note for note in replanned.notes)


async def test_steps_gone_since_the_plan_are_skipped(repo: Path) -> None:
    config, policy = setup()
    plan = plan_docs(repo, ISSUE, config, policy)
    (repo / "docs/guide.md").write_text("# Guide\n")
    outcome = await apply_docs(repo, plan, ISSUE, config, Runner())
    skipped = [s for s in outcome.steps if s.status == "skipped"]
    assert len(skipped) == 1 and "docs/guide.md" not in outcome.changed


def _statuses(outcome: DocsOutcome) -> dict[str, tuple[str, str]]:
    return {s.step_id: (s.status, s.detail) for s in outcome.steps}


async def test_a_block_file_turned_into_a_link_fails_its_steps_with_the_reason(
    repo: Path, tmp_path: Path
) -> None:
    config, policy = setup()
    plan = plan_docs(repo, ISSUE, config, policy, git_dir=repo / ".git")
    (tmp_path / "elsewhere").mkdir()
    (repo / "docs").rename(tmp_path / "elsewhere" / "docs")
    (repo / "docs").symlink_to(tmp_path / "elsewhere" / "docs")
    outcome = await apply_docs(repo, plan, ISSUE, config, Runner(), git_dir=repo / ".git")
    guide = [s for s in plan.steps if s.title.endswith("docs/guide.md")]
    assert guide and all(_statuses(outcome)[s.id][0] == "failed" for s in guide)
    assert all("symbolic link" in _statuses(outcome)[s.id][1] for s in guide)
    assert (tmp_path / "elsewhere/docs/guide.md").read_text() == GUIDE
    assert any("docs/guide.md" in problem for problem in outcome.problems)


async def test_a_link_planted_while_the_block_runs_fails_the_write_not_the_run(
    repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("outside\n")

    class Planting(Runner):
        async def __call__(self, argv: list[str]) -> CommandResult:
            readme = repo / "README.md"
            if not readme.is_symlink():
                readme.unlink()
                readme.symlink_to(outside)
            return await super().__call__(argv)

    config, policy = setup()
    plan = plan_docs(repo, ISSUE, config, policy, git_dir=repo / ".git")
    outcome = await apply_docs(repo, plan, ISSUE, config, Planting(), git_dir=repo / ".git")
    readme = [s for s in plan.steps if s.title.endswith("README.md")]
    assert readme and all(_statuses(outcome)[s.id][0] == "failed" for s in readme)
    assert all("could not write it" in _statuses(outcome)[s.id][1] for s in readme)
    assert outside.read_text() == "outside\n" and "README.md" not in outcome.changed
    assert "docs/guide.md" in outcome.changed  # the other file's step still went through


async def test_a_listing_that_fails_fails_the_block_steps_and_the_plan_says_so(
    repo: Path, tmp_path: Path
) -> None:
    config, policy = setup()
    plan = plan_docs(repo, ISSUE, config, policy, git_dir=repo / ".git")
    missing = tmp_path / "no-such-git-dir"
    outcome = await apply_docs(repo, plan, ISSUE, config, Runner(), git_dir=missing)
    blocks = [s for s in outcome.steps if s.step_id != CHANGELOG_STEP]
    assert blocks and all(s.status == "failed" and "git ls-files failed" in s.detail for s in blocks)
    replanned = plan_docs(repo, ISSUE, config, policy, git_dir=missing)
    assert any("git ls-files failed" in note for note in replanned.notes)
