"""A pull request's change to `.github/steward.yml` gets the `steward/config` check: the worker reads both
versions, validates the head and simulates it against the base (jobs/configcheck.py)."""

from __future__ import annotations

from app.constants import JOB_CONFIG_CHECK
from app.events import PullRequestEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

CHECK_CONFIG = "check_config"

router = Router()


def check_config(delivery: Delivery[PullRequestEvent]) -> list[JobSpec]:
    """Every new head of an open pull request; the worker tells whether it touches the file (one read each
    of the base and head versions, so a removed file is seen too)."""
    event = delivery.payload
    if not in_repository(event, delivery):
        return []
    pull = event.pull_request
    if pull.head is None or pull.base is None:
        return delivery.ignore("no head or base commit in the pull request")
    assert event.repository is not None
    job_id = f"{JOB_CONFIG_CHECK}:{event.repository.id}:{pull.number}:{pull.head.sha}"
    kwargs = {"delivery_id": delivery.delivery_id, "event": event.model_dump(mode="json")}
    return [JobSpec(CHECK_CONFIG, job_id, kwargs)]


for _action in ("opened", "synchronize", "reopened"):
    router.register("pull_request", action=_action, model=PullRequestEvent)(check_config)
