"""A small Python project made in the test (real git), and fixed candidates for the real validation."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from app.config.model import RepoConfig
from app.github.protocol import IssueRecord
from jobs.plan import Plan
from jobs.runs.workflow import PlanInput, WorkInput, WorkItem
from jobs.workflows.tests.candidates import Candidate, Target
from jobs.workflows.tests.generators import Generated, Run
from jobs.workflows.tests.outcome import TestsOutcome
from jobs.workflows.tests.workflow import TestsWorkflow
from policies.loader import effective_policy
from sandbox import git as hostgit
from sandbox.docker_sandbox import DockerSandbox

CALC = '''"""A module with one under-covered function."""


def classify(n: int) -> str:
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"


def double(n: int) -> int:
    return 2 * n
'''
PROJECT = {
    "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1.0"\n',
    "README.md": "# calc\n",
    "pkg/__init__.py": "",
    "pkg/calc.py": CALC,
    "tests/test_calc.py": "from pkg.calc import classify, double\n\n\ndef test_positive():\n"
    "    assert classify(3) == 'positive'\n    assert double(2) == 4\n",
}
HEAD = "import pkg.calc as module_0\n"
PASSING = HEAD + "\n\ndef test_case_0():\n    assert module_0.classify(-4) == 'negative'\n"
FLAKY = (
    "import os\n" + HEAD + "\n\ndef test_case_1():\n"
    "    marker = '/tmp/flaky-marker'\n"  # passes the first run, fails every later one
    "    seen = os.path.exists(marker)\n    open(marker, 'w').close()\n"
    "    assert module_0.classify(0) == 'zero'\n    assert not seen\n"
)
FAILING = HEAD + "\n\ndef test_case_2():\n    assert module_0.classify(0) == 'positive'\n"
NO_GAIN = HEAD + "\n\ndef test_case_3():\n    assert module_0.double(5) == 10\n"
SLOW = (
    "import time\n" + HEAD + "\n\ndef test_case_4():\n    time.sleep(30)\n    assert module_0.classify(0)\n"
)
ESCAPING = (  # writes beside the module under test, by a path it works out (so no literal sandbox path)
    "import os\n" + HEAD + "\n\ndef test_case_5():\n"
    "    open(os.path.join(os.getcwd(), 'pkg', 'planted.py'), 'w').write('x = 1\\n')\n"
    "    assert module_0.classify(-1) == 'negative'\n"
)


def relinking(what: str, outside: Path) -> str:
    """A candidate that passes and adds coverage, and meanwhile replaces `what` in the workspace (the tests
    folder, or the file the kept tests will go to) with a link to a host directory (meaningless in the
    sandbox; the host would follow it)."""
    target = str(outside) if what == "tests" else str(outside / "planted.py")
    return (
        "import os\nimport shutil\n" + HEAD + "\n\ndef test_case_6():\n"
        f"    link = {what!r}\n"
        "    if not os.path.islink(link):\n"
        "        if os.path.isdir(link):\n            shutil.rmtree(link)\n"
        f"        os.symlink({target!r}, link)\n"
        "    assert module_0.classify(-3) == 'negative'\n"
    )


@dataclass
class Fixed:
    """A generator that hands out fixed candidate tests, so validation can be tested without Pynguin."""

    sources: dict[str, str]
    name: str = "fixed"
    asked: list[str] = field(default_factory=list)

    async def generate(self, target: Target, roots: list[str], seconds: int, run: Run) -> Generated:
        self.asked.append(target.path)
        return Generated(
            [
                Candidate(key, target, f"test_case_{n}" if key != "pass" else "test_case_0", source)
                for n, (key, source) in enumerate(self.sources.items())
            ]
        )


def sh(*argv: str, cwd: Path | None = None) -> str:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True).stdout


def make_remote(tmp_path: Path, files: dict[str, str] = PROJECT) -> tuple[Path, str]:
    seed, bare = tmp_path / "seed", tmp_path / "remote.git"
    for name, text in files.items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_text(text)
    sh("git", "init", "-q", "-b", "main", str(seed))
    sh("git", "-C", str(seed), "add", "-A")
    sh("git", "-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init")
    sh("git", "clone", "-q", "--bare", str(seed), str(bare))
    return bare, sh("git", "-C", str(seed), "rev-parse", "HEAD").strip()


def item(changed: tuple[str, ...] = ("pkg/calc.py",), paths: tuple[str, ...] = ()) -> WorkItem:
    issue = IssueRecord(
        number=8, title="Cover classify", body="", state="open", is_pull_request=True, author="alice"
    )
    return WorkItem(issue=issue, paths=paths, changed_files=changed)


def plan_for(ws: hostgit.Workspace, flow: TestsWorkflow, config: RepoConfig, work: WorkItem) -> Plan:
    policy = effective_policy(flow.policy(), config.workflows.tests)
    given = PlanInput(work, config, policy, ws.work_tree, ws.git_dir, ws.commit)
    return flow.plan(given)


async def work_in_sandbox(
    ws: hostgit.Workspace, flow: TestsWorkflow, config: RepoConfig, image: str, work: WorkItem
) -> TestsOutcome:
    """The workflow's plan and work on a clone, in a real sandbox with no network."""
    policy = effective_policy(flow.policy(), config.workflows.tests)
    plan = plan_for(ws, flow, config, work)
    run_id = f"test-tests-{uuid.uuid4().hex[:8]}"
    async with DockerSandbox(ws.work_tree, plan.limits, run_id=run_id, image=image, network="none") as sb:

        async def run(command: list[str] | str):  # type: ignore[no-untyped-def]
            return await sb.run(command)

        given = WorkInput(work, config, policy, plan, ws.work_tree, ws.git_dir, plan.limits, run)
        outcome = await flow.work(given)
    assert isinstance(outcome, TestsOutcome)
    return outcome
