"""The optional embeddings extra, when installed: the bundled model loads offline and helps the ranking."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.duplicates import semantic
from jobs.duplicates.engine import Corpus
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
