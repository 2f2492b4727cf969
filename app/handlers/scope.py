"""What every repository-level handler checks first: the delivery names an installation and a repository."""

from __future__ import annotations

import logging
from typing import Any

from app.events import Envelope
from app.router import Delivery

log = logging.getLogger("steward.handlers")
NO_SCOPE = "no installation or repository in the payload"


def in_repository(event: Envelope, delivery: Delivery[Any]) -> bool:
    """True when the event can be acted on; otherwise log and record why it is ignored."""
    if event.installation is None or event.repository is None:
        log.info(
            "ignored %s.%s delivery=%s: no installation or repository in the payload",
            delivery.event,
            event.action,
            delivery.delivery_id,
        )
        delivery.ignore(NO_SCOPE)
        return False
    return True
