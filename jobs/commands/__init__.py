"""The real handlers of the run commands (docs, approve, cancel, retry), registered on import."""

from jobs.commands import approve, cancel, docs, retry

__all__ = ["approve", "cancel", "docs", "retry"]
