"""The ledger's tables, one module per concept; importing this package registers them all."""

from jobs.models.digests import DigestRow  # noqa: F401
from jobs.models.installations import InstallationRow, RepositoryRow
from jobs.models.issue_index import DuplicateFeedbackRow, IndexBackfillRow, IssueIndexRow  # noqa: F401
from jobs.models.redeliveries import RedeliveryRow  # noqa: F401
from jobs.models.runs import ApprovalRow, ProposalRow, RunRow, StepRow, TransitionRow  # noqa: F401
from jobs.models.shadow import ShadowRecordRow  # noqa: F401

__all__ = ["InstallationRow", "RepositoryRow"]
