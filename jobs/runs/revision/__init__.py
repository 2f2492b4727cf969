"""Revisions: a new run on a Steward pull request's own branch, with its review comments as data."""
