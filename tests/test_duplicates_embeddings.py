"""The optional embeddings extra, when installed: the bundled model loads offline and helps the ranking."""

from __future__ import annotations

import numpy as np
import pytest

from app.github.protocol import IssueRecord
from jobs.duplicates import semantic, store
from jobs.duplicates.engine import Corpus
from jobs.duplicates.store import Sessions
from jobs.duplicates.text import embed_text, tokenize

available, why = semantic.embeddings_available()
pytestmark = pytest.mark.skipif(not available, reason=why)


def test_bundled_model_embeds_offline_and_knows_paraphrases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts = [
        embed_text("App crashes when I open settings", "The application closes as soon as settings open."),
        embed_text("Crash on opening the preferences screen", "Opening preferences makes the app quit."),
        embed_text("Add a dark theme", "Please support dark mode in the editor."),
    ]
    vectors = semantic.embed(texts)
    assert vectors.shape == (3, semantic.EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    restored = semantic.from_blob(semantic.to_blob(vectors[0]))
    assert float(restored @ vectors[0]) > 0.999


def test_hybrid_ranking_lifts_a_paraphrase_that_lexical_ranks_low() -> None:
    docs = [
        ("Preferences screen kills the program", "The program quits the moment preferences are shown."),
        (
            "Settings open slowly",
            "When I open settings the application takes ten seconds; settings open slowly.",
        ),
    ]
    query = ("App crashes when I open settings", "The application closes as soon as settings open.")
    tokens = [tokenize(*d) for d in docs]
    vectors = semantic.embed([embed_text(*d) for d in docs])
    qv = semantic.embed([embed_text(*query)])[0]
    pool = np.ones(2, dtype=np.bool_)
    lexical = Corpus(tokens, None).rank(tokenize(*query), None, pool)
    hybrid = Corpus(tokens, vectors).rank(tokenize(*query), qv, pool)
    assert lexical.candidates[0].index == 1  # shares the words 'settings', 'open' and 'application'
    lexical_gap = lexical.fused[1] - lexical.fused[0]
    hybrid_gap = hybrid.fused[1] - hybrid.fused[0]
    assert hybrid_gap < lexical_gap - 0.05  # the paraphrase (doc 0) closes in: it means the same thing


def test_bfloat16_embeds_like_float32_and_one_item_like_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The faster bfloat16 weights must not change what the model says: same neighbours, cosines > 0.99."""
    texts = [
        embed_text(
            "NullPointerException in FileSystem.getStatus", "getStatus throws when the path is missing."
        ),
        embed_text(
            "getStatus NPE for a missing path", "FileSystem.getStatus fails with NullPointerException."
        ),
        embed_text("Add a dark theme", "Please support dark mode in the editor."),
    ]
    vectors = {}
    for choice in ("0", "1"):
        monkeypatch.setenv(semantic.BF16_ENV, choice)
        monkeypatch.setattr(semantic, "_model", None)
        assert semantic.describe().startswith("bfloat16" if choice == "1" else "float32")
        vectors[choice] = semantic.embed(texts)
        single = semantic.embed(texts[:1])[0]
        assert float(single @ vectors[choice][0]) > 0.99  # one thread for one item, the batch's threads else
    agreement = np.sum(vectors["0"] * vectors["1"], axis=1)
    assert agreement.min() > 0.99
    assert np.allclose(np.linalg.norm(vectors["1"], axis=1), 1.0, atol=1e-4)
    for matrix in vectors.values():
        assert matrix[0] @ matrix[1] > matrix[0] @ matrix[2] + 0.2


def _record(number: int, title: str, body: str, state: str = "open") -> IssueRecord:
    return IssueRecord(
        number=number,
        title=title,
        body=body,
        state=state,
        is_pull_request=False,
        author="octocat",
        html_url=f"https://github.com/o/r/issues/{number}",
        created_at="2026-01-01T00:00:00Z",
    )


@pytest.mark.anyio
async def test_upsert_embeds_only_texts_it_has_not_embedded(
    db: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A close or a label keeps the stored vector; a changed body, a new item and a repeated text are
    embedded, the repeated one once, and every stored vector is the model's for its text."""
    asked: list[str] = []
    real = semantic.embed

    def counting(texts: list[str]) -> np.ndarray:
        asked.extend(texts)
        return real(texts)

    monkeypatch.setattr(semantic, "embed", counting)
    first = [
        _record(1, "Crash on save", "Saving a file crashes the editor."),
        _record(2, "Add a theme", "Dark."),
    ]
    await store.upsert_items(db, "o/r", first)
    assert len(asked) == 2
    asked.clear()
    await store.upsert_items(
        db,
        "o/r",
        [
            _record(1, "Crash on save", "Saving a file crashes the editor.", state="closed"),  # same text
            _record(2, "Add a theme", "Dark, and a light one too."),  # edited
            _record(3, "Bump lib from 1.0 to 1.1", "Bumps lib."),
            _record(4, "Bump lib from 1.0 to 1.1", "Bumps lib."),  # the same text again
        ],
    )
    assert asked == [
        embed_text("Add a theme", "Dark, and a light one too."),
        embed_text("Bump lib from 1.0 to 1.1", "Bumps lib."),
    ]
    rows = {n: await store.get_item(db, "o/r", n) for n in (1, 2, 3, 4)}
    assert all(row is not None and row.embedding is not None for row in rows.values())
    for number, row in rows.items():
        assert row is not None and row.embedding is not None
        expected = real([embed_text(row.title, row.body)])[0]
        assert float(semantic.from_blob(row.embedding) @ expected) > 0.99, number
    assert rows[1] is not None and rows[1].state == "closed"
