"""Installations: record which accounts and repositories Steward serves, on every change GitHub reports."""

from __future__ import annotations

import logging

from app.constants import JOB_INSTALLATION
from app.events import InstallationEvent, InstallationRepositoriesEvent
from app.router import Delivery, JobSpec, Router

log = logging.getLogger("steward.handlers")

SYNC_INSTALLATION = "sync_installation"

router = Router()


def _sync(
    delivery: Delivery[InstallationEvent] | Delivery[InstallationRepositoriesEvent],
) -> list[JobSpec]:
    event = delivery.payload
    if event.installation is None:
        log.info("ignored %s delivery=%s: no installation", delivery.event, delivery.delivery_id)
        return delivery.ignore("no installation in the payload")
    kwargs = {
        "delivery_id": delivery.delivery_id,
        "event_name": delivery.event,
        "event": event.model_dump(mode="json"),
    }
    return [JobSpec(SYNC_INSTALLATION, f"{JOB_INSTALLATION}:{delivery.delivery_id}", kwargs)]


@router.register("installation", model=InstallationEvent)
def installation_changed(delivery: Delivery[InstallationEvent]) -> list[JobSpec]:
    return _sync(delivery)


@router.register("installation_repositories", model=InstallationRepositoriesEvent)
def repositories_changed(delivery: Delivery[InstallationRepositoriesEvent]) -> list[JobSpec]:
    return _sync(delivery)
