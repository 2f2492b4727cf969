"""The fuzz targets at the CI count (STEWARD_FUZZ_CASES; bench/fuzz.py runs the same ones at 10,000), and the
regressions of what they found."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from app.config.loader import MAX_ERROR_ROWS, parse_config, render_config_errors
from app.config.yamlnodes import LineIndex
from app.github.untrusted import inline
from jobs.plan import Plan, PlanStep, parse_ticked, render_plan
from jobs.workflows.tests.outcome import TestsOutcome
from jobs.workflows.tests.text import coverage_table
from sandbox import git as hostgit
from sandbox.diffcheck import FileChange, PathPolicy, check_diff
from tests.fuzz.core import Target, cases_from_env, run
from tests.fuzz.targets import PARSERS
from tests.fuzz.text import links_or_pings, rendered
from tests.test_git_hostile import bare_of, ws  # noqa: F401  (the hostile-work-tree fixture)
from tests.test_git_workspace import BOT, remote_branches


@pytest.mark.parametrize("target", PARSERS, ids=[t.name.replace(" ", "-") for t in PARSERS])
def test_parser_target(target: Target) -> None:
    """No crash, and every property of the target holds (the first counterexample fails, shrunk)."""
    tally = run(target, cases_from_env(), strict=True)
    assert tally.cases >= cases_from_env() // 2  # Hypothesis may stop early on a small space; never at none


def test_what_a_target_found_runs_first_at_any_count() -> None:
    """The fixed examples (Hypothesis @example) run even at one case, and one that breaks fails the run."""
    from hypothesis import strategies as st

    from tests.fuzz.core import Broken

    seen: list[int] = []

    def check(case: int) -> None:
        seen.append(case)
        if case == -1:
            raise Broken("the old crash")

    assert run(Target("t", st.integers(0, 9), check, (10, 11)), 1, strict=True).cases == 3
    assert {10, 11} <= set(seen)
    with pytest.raises(Broken, match="the old crash"):
        run(Target("t", st.integers(0, 9), check, (-1,)), 1, strict=True)
    assert all(t.examples for t in PARSERS if t.name != "changelog writer")  # it found nothing yet


# Found by the config loader target ----------------------------------------------------------------------


def test_a_quoted_pipe_cannot_cut_a_config_error_out_of_its_code() -> None:
    """GFM splits a table cell at `|` even inside code: the quoted key's code span was cut open and the rest
    of it (`@alice`, `<img>`) rendered live in the error comment."""
    text = yaml.safe_dump({"commands": {"x|@alice": 1}, "workflows": {"docs": {"paths": ["<img src=x>|a"]}}})
    comment = render_config_errors(parse_config(text))
    assert links_or_pings(comment.split("\n", 1)[1]) is None  # the marker line is Steward's own HTML
    cells = re.findall(r"<td>(.*?)</td>", rendered(comment), re.DOTALL)
    assert "unknown key <code>@alice|x</code>" not in cells  # (the key is `x|@alice`)
    assert any("unknown key <code>x|@alice</code>" in cell for cell in cells)
    assert any(cell.startswith("<code>&lt;img src=x&gt;|a</code> is outside") for cell in cells)


def test_the_config_error_comment_lists_the_first_errors_and_counts_the_rest() -> None:
    result = parse_config("".join(f"k{i}: 1\n" for i in range(MAX_ERROR_ROWS + 37)))
    comment = render_config_errors(result)
    assert len(result.errors) == MAX_ERROR_ROWS + 37
    assert comment.count("\n| `k") == MAX_ERROR_ROWS
    assert "…and 37 more problems" in comment


class _Counted(list[tuple[yaml.Node, yaml.Node]]):
    """A mapping's (key, value) pairs that count how often they are walked."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        type(self).walks += 1
        return super().__iter__()


def test_locating_thousands_of_errors_in_one_mapping_walks_it_once() -> None:
    """Each error's line was found by a scan of its mapping, quadratic in its keys: 7,000 unknown keys spent
    28 s of 34 (profiled) finding lines."""
    root = yaml.compose("".join(f"k{i}: 1\n" for i in range(5_000)))
    assert isinstance(root, yaml.MappingNode)
    root.value = _Counted(root.value)
    index = LineIndex(root)
    assert [index.line([f"k{i}"]) for i in range(5_000)] == list(range(1, 5_001))
    assert _Counted.walks == 1


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\x1c"])
def test_a_command_after_a_line_of_only_a_line_separator_has_its_own_line_number(separator: str) -> None:
    """str.strip takes these lines off a paragraph's start; the reported line still counts them."""
    from app.commands.parser import ParsedCommand, parse_commands

    assert parse_commands(f"    /steward a \n{separator}\n/steward a ") == [ParsedCommand("a", "", 3)]
    assert parse_commands(f"{separator}\n{separator}\r\n/steward b x") == [ParsedCommand("b", "x", 3)]


# Found by the plan checklist target ---------------------------------------------------------------------


def test_a_detail_quoting_the_end_marker_does_not_drop_the_steps_after_it() -> None:
    """A step's detail is a path or a command from the repository; quoting the section's end marker ended
    the section there, and the ticked steps after it were read as unticked (dropped at approval)."""
    steps = [
        PlanStep(id="exec-a", title="Run a block", detail="echo '<!-- /steward:steps -->'"),
        PlanStep(id="changelog", title="Add an entry"),
    ]
    body = render_plan(Plan(workflow="docs", number=1, steps=steps), run_id="r-1", state="awaiting_approval")
    assert parse_ticked(body) == {"exec-a", "changelog"}
    assert parse_ticked(body.replace("\n<!-- /steward:steps -->\n", "\n")) == set()  # no end: no box counts


def test_a_pipe_in_a_path_cannot_cut_the_coverage_table_open() -> None:
    outcome = TestsOutcome(affected=["src/a|@alice <img src=x>.py"])
    table = "\n".join(coverage_table(outcome))
    assert links_or_pings(table) is None
    assert "<code>src/a|@alice &lt;img src=x&gt;.py</code>" in rendered(table)


# Found by the diff check target -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["--@.A", "a@.b", "docs/x+y@..z.md"])
def test_an_address_whose_domain_starts_with_a_dot_is_not_linked(text: str) -> None:
    """cmark-gfm links `a@.b` as an e-mail address; `inline` took only `a@b.c` for one (found in a refusal
    naming a policy glob)."""
    assert links_or_pings(inline(text)) is None
    assert "mailto" not in rendered(inline(text))


def test_paths_that_are_not_utf8_are_refused_and_named_readably() -> None:
    """git names files in bytes; read with surrogateescape, a refusal naming one could not be stored in the
    ledger nor sent to GitHub (UnicodeEncodeError), and an allowed one went on to be committed."""
    policy = PathPolicy(allowed=("docs/**",))
    verdict = check_diff([FileChange(b"docs/\xff.md".decode(errors="surrogateescape"), 1, 0)], policy)
    said = verdict.message(policy)
    assert not verdict.ok
    assert "docs/\\xff.md" in said
    said.encode("utf-8")


@pytest.mark.anyio
async def test_a_sandbox_file_named_in_bytes_that_are_not_utf8_is_refused(ws: hostgit.Workspace) -> None:  # noqa: F811
    (ws.work_tree / "docs").mkdir(exist_ok=True)
    Path(os.fsdecode(os.fsencode(ws.work_tree) + b"/docs/\xff.md")).write_bytes(b"hello\n")
    with pytest.raises(hostgit.DiffRefusedError) as caught:
        policy = PathPolicy(allowed=("docs/**", "*.md"))
        await hostgit.commit_and_push(ws, policy=policy, run_id="run-1", message="m", identity=BOT)
    assert "not UTF-8" in str(caught.value) and "docs/\\xff.md" in str(caught.value)
    str(caught.value).encode("utf-8")
    assert remote_branches(bare_of(ws)) == ["main"]
