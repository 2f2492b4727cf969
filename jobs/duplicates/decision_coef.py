"""Fitted coefficients of the decision model (jobs/duplicates/decision.py FEATURES order), and the threshold.

Refit: `python -m jobs.duplicates.fit ../shared/eval/duplicates/duppr-dev.jsonl --write` (see fit.py).
"""

from __future__ import annotations

# --- fitted --- by `python -m jobs.duplicates.fit duppr-dev.jsonl --write`, 2026-12-02
HYBRID = (
    0.6388,  # fused
    5.0443,  # margin
    4.1493,  # spread
    2.0764,  # top
    -2.4518,  # content
    -1.9806,  # template_share
    0.0,  # template_only
    0.0,  # automated
    0.0,  # other_branch
    -1.0438,  # masked_title
    1.9122,  # shared_ref
    2.8732,  # shared_fix
    -0.8716,  # mentions
    4.0,  # files
    -1.5,  # files_disjoint
    -4.6444,  # bias
)
LEXICAL = (
    -0.425,  # fused
    5.0535,  # margin
    2.9639,  # spread
    2.3751,  # top
    -1.49,  # content
    -1.9318,  # template_share
    0.0,  # template_only
    0.0,  # automated
    0.0,  # other_branch
    -1.1988,  # masked_title
    2.1481,  # shared_ref
    2.5205,  # shared_fix
    -0.8092,  # mentions
    4.0,  # files
    -1.5,  # files_disjoint
    -4.4996,  # bias
)
THRESHOLD = 0.5
