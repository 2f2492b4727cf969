"""The weekly review digest: what happened in a repository over a week, in one issue (or Discussion)."""
