"""Fitted coefficients of the decision model (jobs/duplicates/decision.py FEATURES order), and the threshold.

Refit (see fit.py), from ../shared/eval/duplicates: `python -m jobs.duplicates.fit duppr-dev.jsonl
gitbugs.jsonl --synthetic-dates=duppr-dev.jsonl --choose-on=duppr-dev.jsonl --write`.
"""

from __future__ import annotations

# --- fitted --- by `python -m jobs.duplicates.fit` on both files (above), 2026-12-02
HYBRID = (
    -1.1635,  # fused
    3.6549,  # margin
    6.8761,  # spread
    1.7589,  # top
    -2.4304,  # content
    -2.3856,  # template_share
    0.0,  # template_only
    0.0,  # automated
    0.0,  # other_branch
    -1.274,  # masked_title
    2.2061,  # shared_ref
    2.8648,  # shared_fix
    -0.6035,  # mentions
    4.0,  # files
    -1.5,  # files_disjoint
    -0.9117,  # age
    -1.4643,  # cand_closed
    0.0,  # cand_merged
    -1.3653,  # cand_duplicate
    -4.6416,  # bias
)
LEXICAL = (
    -2.2698,  # fused
    3.3074,  # margin
    4.8705,  # spread
    2.1752,  # top
    -0.9396,  # content
    -2.4105,  # template_share
    0.0,  # template_only
    0.0,  # automated
    0.0,  # other_branch
    -1.2202,  # masked_title
    2.4451,  # shared_ref
    2.5078,  # shared_fix
    -0.4585,  # mentions
    4.0,  # files
    -1.5,  # files_disjoint
    -0.8815,  # age
    -1.51,  # cand_closed
    0.0,  # cand_merged
    -1.3526,  # cand_duplicate
    -4.6988,  # bias
)
THRESHOLD = 0.4
LEXICAL_THRESHOLD = 0.7
