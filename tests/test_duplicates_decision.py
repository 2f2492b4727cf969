"""The decision to comment on GitHub look-alikes, on fixtures: each feature turns one suggestion around."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs.duplicates import decision, decision_coef, evaluate
from jobs.duplicates.candidates import Suggestion
from jobs.duplicates.comment import render
from jobs.duplicates.dataset import Report, load_reports
from jobs.duplicates.engine import Candidate, suggestions

pytestmark = pytest.mark.usefixtures("lexical_only")

PULLS = Path(__file__).parent / "fixtures" / "duplicates" / "pulls.jsonl"
THRESHOLD = decision_coef.THRESHOLD


def shown_for(report_id: str, reports: list[Report] | None = None) -> list[str]:
    """What a comment on this report would list, at the default threshold."""
    outcomes = evaluate.run(reports or load_reports(PULLS), lexical_only=True)
    (outcome,) = [o for o in outcomes if o.report.id == report_id]
    return [outcome.ids[c.index] for c in suggestions(outcome.candidates, THRESHOLD, 3)]


def test_a_dependency_bump_is_not_suggested_for_its_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    assert shown_for("bumps#11") == []
    monkeypatch.setattr(decision, "is_automated", lambda item: False)
    assert shown_for("bumps#11") == ["bumps#10"]  # the same text; only the automated veto keeps it quiet


def test_a_backport_to_another_branch_is_not_suggested(monkeypatch: pytest.MonkeyPatch) -> None:
    assert shown_for("backports#21") == []
    monkeypatch.setattr(decision, "other_branch", lambda query, candidate: False)
    assert shown_for("backports#21") == ["backports#20"]


def test_branch_markers_and_bots_are_read_from_titles_and_authors() -> None:
    assert decision.branch_marker(decision.Item("[release/3.1] Update dependencies", "")) == "release/3.1"
    assert decision.branch_marker(decision.Item("Backport of cli: fix crash into v0.15", "")) == "v0.15"
    assert decision.other_branch(decision.Item("[2.1] Add key", ""), decision.Item("[3.1] Add key", ""))
    assert not decision.other_branch(
        decision.Item("Add key", "", base_branch="main"), decision.Item("Add", "")
    )
    assert decision.is_automated(decision.Item("Sync WPT with upstream (19-01-2020)", ""))
    assert decision.is_automated(decision.Item("x", "", author="renovate[bot]"))
    assert not decision.is_automated(decision.Item("Bump the version in the docs", "", author="alice"))
    assert decision.masked_title("Update branding to 3.1.15") == decision.masked_title(
        "Update branding to 2.1.2"
    )


TEMPLATE = """## Checklist
- [ ] I have read the contributing guide
- [ ] Tests cover the change
- [ ] The changelog says what changed and why
## Related issues
None that I know of, this is a standalone improvement"""


def test_a_template_only_match_is_not_suggested() -> None:
    query = decision.Item("Faster startup", "Lazy imports.\n" + TEMPLATE, number=31)
    candidate = decision.Item("Dark theme for settings", "Adds a dark palette.\n" + TEMPLATE, number=30)
    # Only these two carry the template, so the ranking sees a clear best candidate.
    ranking = np.asarray([[0.7, 0.5, 0.6, 1.0]])
    known = decision.template_keys(TEMPLATE)  # the repository's .github/pull_request_template.md
    coef = decision_coef.LEXICAL
    (with_template,) = decision.pairs(query, [candidate], ranking, known)
    (without,) = decision.pairs(query, [candidate], ranking)
    assert decision.probabilities([without.features], coef)[0] >= THRESHOLD  # the template alone looks alike
    assert decision.probabilities([with_template.features], coef)[0] < THRESHOLD
    assert with_template.title_words == [] and without.features[4] > with_template.features[4]


def test_a_true_duplicate_with_the_same_changed_files_is_suggested() -> None:
    reports = load_reports(PULLS)
    assert shown_for("files#41", reports) == ["files#40"]
    unknown = [Report(**{**r.__dict__, "files": None}) for r in reports]
    assert shown_for("files#41", unknown) == []  # the words alone are too far apart


def test_shared_fix_references_count_and_a_named_original_is_not_one() -> None:
    query = decision.Item("Fixed #25307 -- conditional aggregation", "", number=5502)
    (pair,) = decision.pairs(
        query, [decision.Item("Fixed #25307 -- Conditional aggregation", "", number=5500)], np.zeros((1, 4))
    )
    named = dict(zip(decision.FEATURES, pair.features, strict=True))
    assert named["shared_fix"] == 1.0 and named["shared_ref"] == 1.0 and pair.refs == [25307]
    backport = decision.Item("Backport of x", "auto-generated from #5500. Fixes #25307", number=5510)
    (pair,) = decision.pairs(backport, [decision.Item("x", "Fixes #25307", number=5500)], np.zeros((1, 4)))
    named = dict(zip(decision.FEATURES, pair.features, strict=True))
    assert named["mentions"] == 1.0 and named["automated"] == 1.0
    assert decision.probabilities([pair.features], decision_coef.HYBRID)[0] == 0.0


def test_the_comment_says_why_each_candidate_was_suggested() -> None:
    query = decision.Item(
        "Upload crashes on empty body @admin",
        "Traceback: KeyError: 'content-length' in upload handler",
        files=("app/upload.py", "tests/test_upload.py"),
    )
    cand = decision.Item(
        "Empty body makes upload crash",
        "Traceback: KeyError: 'content-length' in upload handler\nsee [x](https://evil.example)",
        number=7,
        files=("app/upload.py",),
    )
    (pair,) = decision.pairs(query, [cand], np.asarray([[0.8, 0.5, 0.6, 1.0]]))
    s = Suggestion(
        7, "Empty body makes upload crash", "open", "pull", "https://github.com/o/r/pull/7", 0.9, pair
    )
    body = render([s])
    (line,) = [x for x in body.splitlines() if x.startswith("- #7:")]
    assert "changes the same files `app/upload.py`" in line
    assert "the same error line `traceback: keyerror: 'content-length' in upload handler`" in line
    assert "shares the title words `body`, `crash`, `empty`, `upload`" in line
    assert "@admin" not in body and "evil.example" not in body


def test_the_json_curve_matches_a_hand_computed_case() -> None:
    # Three reports; a:2 and a:3 duplicates of a:1. Best scores: a:2 0.9 (right), a:3 0.4 (wrong: shows
    # a:2's twin b), c 0.6 (a report with no duplicate: wrong). At 0.5: 2 comments, 1 right: precision 0.5,
    # recall 1/2. At 0.3: 3 comments, 1 right. At 0.95: none.
    def outcome(
        rid: str, dup: str | None, ids: list[str], scores: list[float], linked: set[str]
    ) -> evaluate.Outcome:
        report = Report(rid, "t", "b", "2024-01-01T00:00:00.000000", "a", dup, dup is not None)
        cands = [Candidate(i, 1.0 - i / 10, s) for i, s in enumerate(scores)]
        return evaluate.Outcome(
            report, cands, ids, original_rank=1 if dup else None, linked=frozenset(linked)
        )

    outcomes = [
        outcome("a:2", "a:1", ["a:1", "x"], [0.9, 0.1], {"a:1"}),
        outcome("a:3", "a:1", ["b", "a:1"], [0.4, 0.05], {"a:1"}),
        outcome("c", None, ["a:1"], [0.6], set()),
    ]
    points = [p.as_json() for p in evaluate.curve(outcomes, [0.95, 0.5, 0.3], max_suggestions=1)]
    assert points == [
        {"threshold": 0.3, "comments": 3, "precision": 0.3333, "recall": 0.5},
        {"threshold": 0.5, "comments": 2, "precision": 0.5, "recall": 0.5},
        {"threshold": 0.95, "comments": 0, "precision": 0.0, "recall": 0.0},
    ]


def test_age_gap_and_candidate_state_lower_an_old_or_closed_candidate() -> None:
    day = 86400.0
    query = decision.Item("Upload crashes on empty body", "KeyError content-length", created=400 * day)
    recent = decision.Item("Empty body makes upload crash", "KeyError content-length", created=399 * day)
    old = decision.Item("Empty body makes upload crash", "KeyError content-length", created=0.0)
    ranking = np.asarray([[0.8, 0.3, 0.6, 1.0], [0.8, 0.3, 0.6, 1.0]])
    age = decision.FEATURES.index("age")
    first, second = decision.pairs(query, [recent, old], ranking)
    assert first.features[age] < 0 < second.features[age]  # older than the other candidates: negative
    assert abs(first.features[age] + second.features[age]) < 1e-9
    coef = decision_coef.HYBRID
    assert coef[age] < 0
    p_recent, p_old = decision.probabilities([first.features, second.features], coef)
    assert p_recent > p_old
    undated = decision.pairs(decision.Item(query.title, query.body), [recent, old], ranking)
    assert [p.features[age] for p in undated] == [0.0, 0.0]  # unknown dates shift nothing

    def scored(state: str) -> float:
        cand = decision.Item(recent.title, recent.body, state=state)
        (pair,) = decision.pairs(decision.Item(query.title, query.body), [cand], ranking[:1])
        return float(decision.probabilities([pair.features], coef)[0])

    assert scored("open") > scored("closed") and scored("open") > scored("duplicate")
    assert scored("merged") == scored("open")  # no data on merged candidates: neutral


def test_tracker_states_are_read_from_status_and_resolution(tmp_path: Path) -> None:
    rows = [
        '{"id": "a", "created_at": "2020-01-01", "status": "Open"}',
        '{"id": "b", "created_at": "2020-01-02", "status": "RESOLVED", "resolution": "FIXED"}',
        '{"id": "c", "created_at": "2020-01-03", "status": "Resolved", "resolution": "Duplicate"}',
        '{"id": "d", "created_at": "2020-01-04", "state": "merged"}',
        '{"id": "e", "created_at": "2020-01-05"}',
    ]
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(rows))
    assert [r.state for r in load_reports(path)] == ["open", "closed", "duplicate", "merged", ""]


def test_a_merged_pull_request_is_indexed_as_merged() -> None:
    from app.github.records import issue_record

    listed = {"number": 5, "state": "closed", "pull_request": {"merged_at": "2024-01-02T00:00:00Z"}}
    webhook = {
        "number": 6,
        "state": "closed",
        "merged": True,
        "merged_at": "2024-01-02T00:00:00Z",
        "head": {},
    }
    closed = {"number": 7, "state": "closed", "pull_request": {"merged_at": None}}
    issue = {"number": 8, "state": "closed", "state_reason": "duplicate"}
    reasons = [issue_record(d).state_reason for d in (listed, webhook, closed, issue)]
    assert reasons == ["merged", "merged", None, "duplicate"]


def test_an_unset_threshold_is_the_retrieval_modes_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config.model import DuplicatesConfig
    from jobs.duplicates import semantic
    from jobs.duplicates.triage import resolved

    assert DuplicatesConfig().threshold is None
    monkeypatch.setenv(semantic.FORCE_LEXICAL_ENV, "1")
    assert resolved(DuplicatesConfig()).threshold == decision_coef.LEXICAL_THRESHOLD
    assert resolved(DuplicatesConfig(threshold=0.25)).threshold == 0.25  # the repository's own wins
    assert decision.default_threshold(True) == decision_coef.THRESHOLD != decision_coef.LEXICAL_THRESHOLD
