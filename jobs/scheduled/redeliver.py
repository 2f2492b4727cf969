"""Missed deliveries are recovered: every few minutes one worker lists the App's recent webhook deliveries
(`GET /app/hook/deliveries`, with the App's JWT, paginated and bounded) and asks GitHub to send again each
failed one that no later attempt delivered (`POST /app/hook/deliveries/{id}/attempts`).

This closes the gap left when the receiver was down, or answered 503 because Redis was. A delivery is asked
for at most once, ever: its row in `redeliveries` is written before the request. At most
`STEWARD_REDELIVER_MAX_PER_PASS` requests go out per pass, oldest first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.github.client import app_github
from app.github.errors import GitHubRefused
from app.github.retrying import DEFAULT_POLICY, RetryPolicy, request
from app.settings import Settings
from jobs.context import db_sessions, settings_of
from jobs.failures import guarded_text
from jobs.models.redeliveries import RedeliveryRow
from jobs.scheduled.registry import Scheduled, every, once, register

log = logging.getLogger(__name__)

NAME = "recover_deliveries"
PER_PAGE = 100
REFUSED_FOR_GOOD = range(400, 500)
"""Answers that mean Steward's receiver refused the delivery itself (bad signature, malformed body): sending
it again would be refused again. 408 and 429 are the exceptions: they ask to come back later."""


@dataclass(frozen=True)
class Attempt:
    """One attempt of a delivery, as GitHub lists it."""

    id: int
    guid: str
    delivered_at: str
    status_code: int
    event: str
    action: str

    @property
    def delivered(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def failed(self) -> bool:
        """No answer, a 5xx, or a 4xx that asks to come back later."""
        code = self.status_code
        return not self.delivered and (code not in REFUSED_FOR_GOOD or code in (408, 429))


def _attempt(item: Any) -> Attempt | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int) or not item.get("guid"):
        return None
    code = item.get("status_code")
    return Attempt(
        id=int(item["id"]),
        guid=str(item["guid"])[:64],
        delivered_at=str(item.get("delivered_at") or "")[:40],
        status_code=code if isinstance(code, int) else 0,
        event=str(item.get("event") or "")[:64],
        action=str(item.get("action") or "")[:64],
    )


def _when(attempt: Attempt) -> datetime | None:
    try:
        return datetime.fromisoformat(attempt.delivered_at.replace("Z", "+00:00"))
    except ValueError:
        return None


async def recent_attempts(
    gh: Any, since: datetime, max_pages: int, policy: RetryPolicy = DEFAULT_POLICY
) -> list[Attempt]:
    """The App's delivery attempts since `since`, newest first, reading at most `max_pages` pages."""
    found: list[Attempt] = []
    url: str | None = "app/hook/deliveries"
    params: dict[str, Any] | None = {"per_page": PER_PAGE}
    for _ in range(max_pages):
        if url is None:
            break
        response = await request(gh, "GET", url, policy, params=params)
        page = response.raw_response.json() if response.raw_response.content else []
        attempts = [a for a in map(_attempt, page if isinstance(page, list) else []) if a is not None]
        found.extend(attempts)
        oldest = min((w for w in map(_when, attempts) if w is not None), default=None)
        if oldest is not None and oldest < since:
            break
        link = response.raw_response.links.get("next", {}).get("url")
        url, params = (str(link), None) if link else (None, None)
    return [a for a in found if (_when(a) or since) >= since]


def missed(attempts: list[Attempt]) -> list[Attempt]:
    """Per delivery (guid), its newest attempt when no attempt of it was delivered and that one failed;
    oldest first, so what would soon leave GitHub's window goes first."""
    newest: dict[str, Attempt] = {}
    delivered: set[str] = set()
    for attempt in attempts:
        if attempt.delivered:
            delivered.add(attempt.guid)
        known = newest.get(attempt.guid)
        if known is None or (attempt.delivered_at, attempt.id) > (known.delivered_at, known.id):
            newest[attempt.guid] = attempt
    chosen = [a for guid, a in newest.items() if guid not in delivered and a.failed]
    return sorted(chosen, key=lambda a: (a.delivered_at, a.id))


async def _claim(sessions: Any, attempt: Attempt) -> bool:
    """Write the delivery's row before asking; False when it was asked for before (by anyone)."""
    async with sessions() as session:
        if await session.scalar(select(RedeliveryRow.guid).where(RedeliveryRow.guid == attempt.guid)):
            return False
        session.add(
            RedeliveryRow(
                guid=attempt.guid,
                delivery_id=attempt.id,
                event=attempt.event,
                action=attempt.action,
                status_code=attempt.status_code,
                delivered_at=attempt.delivered_at,
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            return False
    return True


async def _record(sessions: Any, guid: str, outcome: str) -> None:
    async with sessions() as session:
        await session.execute(update(RedeliveryRow).where(RedeliveryRow.guid == guid).values(outcome=outcome))
        await session.commit()


async def recover(
    settings: Settings,
    sessions: Any,
    *,
    now: datetime | None = None,
    transport: Any = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> str:
    """One pass: list, choose, ask (bounded), record. Returns a summary line."""
    now = now or datetime.now(UTC)
    gh = app_github(settings, transport=transport)
    since = now - timedelta(hours=settings.redeliver_lookback_hours)
    attempts = await recent_attempts(gh, since, settings.redeliver_max_pages, policy)
    chosen = missed(attempts)
    asked = skipped = refused = 0
    for attempt in chosen:
        if asked + refused >= settings.redeliver_max_per_pass:
            break
        if not await _claim(sessions, attempt):
            skipped += 1
            continue
        try:
            await request(gh, "POST", f"app/hook/deliveries/{attempt.id}/attempts", policy)
        except GitHubRefused as exc:
            refused += 1
            await _record(sessions, attempt.guid, f"refused: {exc.status}"[:255])
            log.warning("redelivery of %s (%s) refused: %s", attempt.guid, attempt.event, exc.status)
            continue
        asked += 1
        await _record(sessions, attempt.guid, "requested")
        log.info(
            "asked GitHub to redeliver %s (%s.%s, answered %s at %s)",
            attempt.guid,
            attempt.event,
            attempt.action or "-",
            attempt.status_code or "nothing",
            attempt.delivered_at,
        )
    left = len(chosen) - asked - refused - skipped
    return (
        f"{len(attempts)} attempts read, {len(chosen)} missed: {asked} redelivery requested, "
        f"{refused} refused by GitHub, {skipped} asked before"
        + (f", {left} left for the next pass" if left else "")
    )


async def recover_deliveries(ctx: dict[str, Any]) -> str:
    """The scheduled job: one worker per period runs the pass."""
    if not await once(ctx):
        return "another worker ran this period's pass"
    settings = settings_of(ctx)
    work = recover(
        settings,
        db_sessions(ctx),
        transport=ctx.get("github_transport"),
        policy=ctx.get("github_retry", DEFAULT_POLICY),
    )
    outcome = await guarded_text(ctx, None, work)
    log.info("%s: %s", NAME, outcome)
    return outcome


register(
    Scheduled(
        NAME,
        recover_deliveries,
        lambda settings: every(settings.redeliver_every_minutes) if settings.app_id else None,
        "ask GitHub to redeliver webhook deliveries that failed and were never delivered",
    )
)
