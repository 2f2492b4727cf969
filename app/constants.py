"""Names shared across processes: Redis keys, comment markers, labels, status contexts."""

# Redis
DELIVERY_KEY_PREFIX = "steward:delivery:"
"""SET NX per X-GitHub-Delivery; its presence means the delivery was already enqueued."""
DELIVERY_TTL_SECONDS = 7 * 24 * 3600
REPO_LOCK_PREFIX = "steward:lock:repo:"
CONFIG_CACHE_PREFIX = "steward:config:"
RATE_PREFIX = "steward:rate:"
WORKER_HEALTH_PREFIX = "steward:worker-heartbeat:"
"""Per worker host: arq's health record, rewritten from its polling loop; it lapses when the worker stops."""

# arq job id prefixes (deterministic ids make redeliveries and double commands no-ops)
JOB_COMMENT = "comment"
JOB_TRIAGE = "triage"
JOB_INSTALLATION = "installation"
JOB_REVIEW = "review"
JOB_RUN = "run"
JOB_INDEX = "index"
JOB_PULL_CLOSED = "pr-closed"
JOB_PULL_SYNC = "pr-sync"
JOB_BACKFILL = "backfill"
JOB_CONFIG_CHECK = "config-check"
JOB_LANDED = "landed"
JOB_REVIEW_COMMENT = "review-comment"

# Comment markers (hidden HTML comments that let Steward find and update its own comments)
MARKER_HELP = "<!-- steward:help -->"
MARKER_STATUS = "<!-- steward:status -->"
MARKER_CONFIG_ERROR = "<!-- steward:config-error -->"
MARKER_DUPLICATES = "<!-- steward:duplicates -->"
MARKER_PLAN = "<!-- steward:plan -->"
MARKER_FAILURE = "<!-- steward:failure -->"
MARKER_LIMIT = "<!-- steward:limit -->"
MARKER_DIGEST = "<!-- steward:digest:{week} -->"
"""The weekly review's marker, one per ISO week (`2026-W49`): its own issue or Discussion is found by it."""


def command_marker(comment_id: int | str, index: int) -> str:
    """The marker of Steward's answer to one command in one comment."""
    return f"<!-- steward:reply {comment_id}:{index} -->"


# GitHub
REVIEW_STATUS_CONTEXT = "steward/review"
BRANCH_PREFIX = "steward"
CONFIG_PATH = ".github/steward.yml"
DEFAULT_COMMAND_PREFIX = "/steward"

# Worker liveness and recovery of jobs orphaned by a dead worker (jobs/recovery.py)
WORKER_HEARTBEAT_PREFIX = "steward:worker:"
"""steward:worker:<worker id> exists while that worker process is alive (renewed, short TTL)."""
WORKER_HEARTBEAT_TTL_SECONDS = 20.0
"""A worker silent this long is dead: its jobs are freed for another worker."""
WORKER_HEARTBEAT_EVERY_SECONDS = 5.0
"""How often a worker renews its heartbeat (well inside the TTL)."""
RECOVERY_INTERVAL_SECONDS = 10.0
"""How often each worker looks for jobs whose worker died."""
RUNNING_JOBS_KEY = "steward:running"
"""Hash: arq job id -> id of the worker running it."""

ROLE_NOT_LOOKED_UP = "not looked up"
"""A commenter's role when the command is open to anyone here, so GitHub was not asked (runs record it)."""

NOISE_LIMITS_PREFIX = "steward:noise-limits:"
"""steward:noise-limits:<owner/name, lower case>: the repository's effective `noise:` limits, as JSON, written
where a worker loads its configuration (app/config/noise_record.py); the dashboard's Health page reads them"""
