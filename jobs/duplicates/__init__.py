"""Duplicate triage: a live index per repository, hybrid retrieval, calibrated scores, one honest comment."""
