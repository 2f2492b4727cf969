"""Every `steward_*` metric, in prometheus-client's default registry; each process exposes its own.

Labels are bounded: event names the router knows (else `other`), job functions, workflows, engines, states,
limits, decisions, HTTP statuses. No repository, user, delivery id, token or text is ever a label.
"""

from __future__ import annotations

import re

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

__all__ = ["CONTENT_TYPE", "render"]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""What `render` writes: the text format every Prometheus version reads."""

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0)
"""Buckets for the receiver (answers in milliseconds) and single HTTP calls."""
SLOW = (0.5, 2.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0)
"""Buckets for jobs and sandbox commands (seconds to half an hour). Few on purpose: each bucket is a series
per job function, and a scrape's cost grows with its series (bench/metrics.py)."""
OTHER = "other"
"""The label value for anything outside a label's known set."""
_WORD = re.compile(r"[a-z][a-z0-9_]{0,39}")

# No `_created` series: half the lines of a scrape, and nothing a dashboard uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

DELIVERIES = Counter(
    "steward_webhook_deliveries",
    "Webhook deliveries answered, by event and outcome (queued, duplicate, ignored, rejected, unavailable, "
    "error, disconnected).",
    ["event", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "steward_webhook_duration_seconds", "Time the receiver took to answer a delivery.", buckets=FAST
)
JOBS = Counter(
    "steward_jobs",
    "Jobs the worker finished, by function and outcome (ok, retry, failed, cancelled).",
    ["function", "outcome"],
)
JOB_SECONDS = Histogram("steward_job_duration_seconds", "Time a job ran.", ["function"], buckets=SLOW)
JOBS_RUNNING = Gauge("steward_jobs_in_progress", "Jobs this worker is running now.", ["function"])
QUEUE_DEPTH = Gauge("steward_queue_depth", "Jobs waiting in the arq queue (deferred retries included).")
RUNS = Counter(
    "steward_runs",
    "Runs that reached an end state (proposed, merged, closed, failed, cancelled), by workflow and engine.",
    ["workflow", "engine", "state"],
)
SANDBOX_COMMANDS = Histogram(
    "steward_sandbox_command_duration_seconds", "Time a sandbox command ran.", buckets=SLOW
)
SANDBOX_KILLS = Counter(
    "steward_sandbox_kills",
    "Sandbox commands stopped by a limit (memory, processes, time, output, disk).",
    ["limit"],
)
MODEL_REQUESTS = Counter("steward_model_requests", "Model requests answered.", ["model"])
MODEL_TOKENS = Counter(
    "steward_model_tokens", "Model tokens spent, by direction (input, output).", ["model", "direction"]
)
MODEL_COST = Counter(
    "steward_model_cost", "Model cost at the operator's prices (STEWARD_MODEL_PRICES).", ["model"]
)
TOOL_CALLS = Counter(
    "steward_agent_tool_calls",
    "Agent tool calls, by tool and outcome (ok, failed, refused); tools not offered count as `other`.",
    ["tool", "outcome"],
)
DUPLICATE_DECISIONS = Counter(
    "steward_duplicate_decisions",
    "Duplicate triage decisions: commented (suggested), answered (none found, when asked or updating), "
    "held (a noise limit), silent.",
    ["decision"],
)
GITHUB_REQUESTS = Counter(
    "steward_github_requests", "GitHub API responses by status code (`error`: no response).", ["status"]
)
GITHUB_RATE_REMAINING = Gauge(
    "steward_github_rate_limit_remaining",
    "Requests left in GitHub's rate-limit window, from the last response's X-RateLimit-Remaining.",
    ["resource"],
)


def bounded(value: str | None, known: frozenset[str] | None = None) -> str:
    """A label value: `value` if it is in `known` (or, without `known`, a short lowercase word), else
    `other`."""
    if value is None:
        return OTHER
    if known is not None:
        return value if value in known else OTHER
    return value if _WORD.fullmatch(value) else OTHER


def render(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The registry in Prometheus's text format."""
    return generate_latest(registry)
