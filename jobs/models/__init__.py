"""The ledger's tables, one module per concept; importing this package registers them all."""

from jobs.models.installations import InstallationRow, RepositoryRow

__all__ = ["InstallationRow", "RepositoryRow"]
