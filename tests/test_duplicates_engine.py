"""Duplicate retrieval without a database: tokens, ranking, and the eval command on a hand-computed case."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import app
from jobs.duplicates import semantic
from jobs.duplicates.engine import Candidate, Corpus, suggestions
from jobs.duplicates.text import embed_text, tokenize, words

pytestmark = pytest.mark.usefixtures("lexical_only")

TINY = Path(__file__).parent / "fixtures" / "duplicates" / "tiny.jsonl"


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("NPE in FileSystem.getStatus", {"filesystem.getstatus", "file", "system", "npe"}, {"in"}),
        ("snake_case_name breaks", {"snake_case_name", "snake", "case", "name", "break"}, set()),
        ("see https://example.com/very/long/path for timeouts", {"timeout"}, {"https", "example", "com"}),
        ("Uploading files failed", {"upload", "file", "fail"}, {"uploading", "files", "failed"}),
        ("hash deadbeefcafe1234 and 0x7fff", {"hash"}, {"deadbeefcafe1234", "0x7fff"}),
    ],
)
def test_tokens_keep_identifiers_and_drop_noise(text: str, present: set[str], absent: set[str]) -> None:
    tokens = set(words(text))
    assert present <= tokens
    assert not absent & tokens


def test_deep_stack_frames_are_cut_to_the_top_ones() -> None:
    frames = "\n".join(f"    at org.example.pkg.Class{i}.method{i}(Class{i}.java:{i})" for i in range(40))
    tokens = words("java.lang.IllegalStateException: boom\n" + frames + "\n    ... 12 more")
    assert "illegalstateexception" in tokens
    assert "class0.method0" in tokens
    assert "class39.method39" not in tokens


def test_title_counts_more_than_body_and_embed_text_is_bounded() -> None:
    tokens = tokenize("Crash", "crash once in the body")
    assert tokens.count("crash") == 3
    assert len(embed_text("t", "word " * 5000)) < 2000


def test_lexical_ranking_prefers_the_same_bug_and_respects_the_pool() -> None:
    docs = [
        tokenize("Upload fails when disk is full", "disk full error during upload"),
        tokenize("Login button does nothing", "clicking login has no effect"),
        tokenize("Dark mode request", "please add dark theme"),
    ]
    corpus = Corpus(docs, None)
    query = tokenize("Disk full error on upload", "upload stops: disk full")
    everything = np.ones(3, dtype=np.bool_)
    ranking = corpus.rank(query, None, everything)
    assert ranking.candidates[0].index == 0
    assert ranking.rank_of(0) == 1
    without_first = np.array([False, True, True])
    ranking = corpus.rank(query, None, without_first)
    assert 0 not in [c.index for c in ranking.candidates]
    assert ranking.rank_of(0) is None
    scores = [c.score for c in corpus.rank(query, None, everything).candidates]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)


def test_suggestions_are_silent_below_threshold_and_list_near_ones_above() -> None:
    cands = [Candidate(0, 0.9, 0.8), Candidate(1, 0.7, 0.5), Candidate(2, 0.2, 0.1)]
    assert suggestions(cands, threshold=0.85, max_suggestions=3) == []
    assert [c.index for c in suggestions(cands, threshold=0.7, max_suggestions=3)] == [0, 1]
    assert [c.index for c in suggestions(cands, threshold=0.7, max_suggestions=1)] == [0]


def test_embeddings_report_lexical_when_forced() -> None:
    available, reason = semantic.embeddings_available()
    assert not available
    assert semantic.FORCE_LEXICAL_ENV in reason


def _eval(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["eval", "duplicates", str(TINY), "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_eval_figures_match_the_hand_computed_case() -> None:
    # a:3 repeats a:1 word for word -> rank 1 (b:1, identical but in project b, must not count).
    # a:4 is labelled a duplicate of a:2 but reads like a:3 and a:1 -> rank 3.
    # recall@1 = 1/2, recall@5 = 2/2, MRR = (1 + 1/3) / 2.
    # Threshold 0, one suggestion each: a:2 -> a:1 (wrong), a:3 -> a:1 (right), a:4 -> a:3 (wrong);
    # a:5 is closed as a duplicate of a report outside the file: left out. Precision 1/3, recall 1/2.
    data = _eval("--k", "1,5", "--threshold", "0", "--max-suggestions", "1")
    curve = data.pop("curve")
    projects = data.pop("projects")
    assert data == {
        "n": 2,
        "recall": {"1": 0.5, "5": 1.0},
        "mrr": 0.6667,
        "decision": {"threshold": 0.0, "precision": 0.3333, "recall": 0.5},
    }
    assert curve[0] == {"threshold": 0.0, "comments": 3, "precision": 0.3333, "recall": 0.5}  # type: ignore[index]
    assert [p["threshold"] for p in curve] == sorted(p["threshold"] for p in curve)  # type: ignore[attr-defined]
    assert set(projects) == {"a"}  # type: ignore[arg-type]  # b:1 has no earlier report in b


def test_eval_at_threshold_one_never_comments() -> None:
    data = _eval("--threshold", "1")
    assert data["decision"] == {"threshold": 1.0, "precision": 0.0, "recall": 0.0}
    assert data["recall"] == {"1": 0.5, "5": 1.0, "10": 1.0}


def test_eval_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "created_at": "2024"}\nnot json\n')
    result = CliRunner().invoke(app, ["eval", "duplicates", str(bad)])
    assert result.exit_code == 2
    assert "bad.jsonl:2: not JSON" in result.stderr
    result = CliRunner().invoke(app, ["eval", "duplicates", str(TINY), "--k", "0,x"])
    assert result.exit_code != 0


def test_calibration_features_do_not_depend_on_the_repository_size() -> None:
    """The same near neighbours give the same score in a small and a large repository."""
    from jobs.duplicates.calibration import HYBRID_COEF, features, probabilities

    near = np.asarray([0.9, 0.5, 0.45, 0.3], dtype=np.float32)
    small = np.concatenate([near, np.full(20, 0.05, dtype=np.float32)])
    large = np.concatenate([near, np.random.default_rng(1).uniform(0, 0.2, 20_000).astype(np.float32)])
    top = np.arange(4, dtype=np.int64)
    assert np.allclose(features(small, top), features(large, top))
    rows = features(small, top)
    assert rows[0].tolist() == pytest.approx([0.9, 0.4, 0.6, 1.0])  # fused, margin, spread, bias
    probs = probabilities(rows, HYBRID_COEF)
    assert list(probs) == sorted(probs, reverse=True)  # the score keeps the ranking's order


def test_reliability_bins_the_best_score_per_project_against_what_came_true() -> None:
    from jobs.duplicates.dataset import Report
    from jobs.duplicates.evaluate import Outcome, reliability

    def outcome(project: str, score: float, linked: bool, marked: bool = False) -> Outcome:
        report = Report("q", "t", "b", "2024", project, None, marked_duplicate=marked)
        best = Candidate(0, 1.0, score)
        return Outcome(
            report,
            [best, Candidate(1, 0.5, score / 2)],
            ["c", "d"],
            linked=frozenset({"c"} if linked else ()),
        )

    outcomes = [
        outcome("a", 0.005, False),
        outcome("a", 0.007, True),
        outcome("a", 0.3, True),
        outcome("a", 0.4, False),
        outcome("a", 1.0, True),  # the top edge belongs to the last bin
        outcome("a", 0.3, True, marked=True),  # closed as a duplicate of a report outside the file: left out
        outcome("b", 0.15, False),
    ]
    table = reliability(outcomes)
    assert [(b.low, b.high, b.n, b.right) for b in table["a"]] == [
        (0.0, 0.01, 2, 1),
        (0.2, 0.5, 2, 1),
        (0.5, 1.0, 1, 1),
    ]
    assert table["a"][0].mean_score == pytest.approx(0.006)
    assert table["a"][1].observed == 0.5
    assert [(b.low, b.n, b.right) for b in table["b"]] == [(0.1, 1, 0)]


def test_eval_text_output_has_the_reliability_table() -> None:
    result = CliRunner().invoke(app, ["eval", "duplicates", str(TINY), "--threshold", "0"])
    assert result.exit_code == 0, result.output
    assert "calibration: the best candidate's score" in result.stdout
    assert "  a: expected " in result.stdout and "observed" in result.stdout
