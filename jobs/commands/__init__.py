"""The real handlers of docs, approve, cancel, retry and the duplicates commands, registered on import."""

from jobs.commands import approve, cancel, docs, retry
from jobs.duplicates import commands as duplicates

__all__ = ["approve", "cancel", "docs", "duplicates", "retry"]
