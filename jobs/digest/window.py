"""When a repository's digest is due, the week it is titled by, and the span of time it covers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.config.model import DigestConfig

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEK = timedelta(days=7)
MAX_SINCE = timedelta(days=90)
"""The longest span `steward digest --since` covers (GitHub's lists are read newest first, bounded)."""
_SINCE = re.compile(r"^([1-9][0-9]{0,3})([hdw])$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": WEEK}


@dataclass(frozen=True)
class Window:
    """The span a digest covers, [start, end), and the ISO week (in the repository's zone) it is titled by."""

    start: datetime
    end: datetime
    week: str
    """`2026-W49`: the ISO week of `end` in the repository's time zone."""

    @property
    def title(self) -> str:
        return f"Weekly review: {self.week}"

    def holds(self, when: datetime | None) -> bool:
        return when is not None and self.start <= when < self.end


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def scheduled(config: DigestConfig, now: datetime) -> Window:
    """This ISO week's publication moment (day and hour in the repository's zone) and the week before it.

    The moment may be later than `now` (the week's digest is not due yet)."""
    zone = ZoneInfo(config.timezone)
    local = now.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).date()
    day = monday + timedelta(days=DAYS.index(config.day))
    # Built from the wall clock, then normalised: a DST gap hour moves forward, never to another day's digest.
    moment = datetime(day.year, day.month, day.day, config.hour, tzinfo=zone).astimezone(UTC)
    return Window(start=moment - WEEK, end=moment, week=iso_week(moment.astimezone(zone)))


def due(config: DigestConfig, now: datetime) -> Window | None:
    """This week's window when its moment has come (a pass after it catches up), else None."""
    if not config.enabled:
        return None
    window = scheduled(config, now)
    return window if window.end <= now else None


def parse_since(text: str) -> timedelta:
    """`7d`, `36h`, `2w`: a whole number of hours, days or weeks, at most 90 days."""
    found = _SINCE.match(text.strip())
    if found is None:
        raise ValueError(f"--since {text[:40]!r}: use a whole number and h, d or w (e.g. `7d`, `36h`, `2w`)")
    span = int(found.group(1)) * _UNIT[found.group(2)]
    if span > MAX_SINCE:
        raise ValueError(f"--since {text!r}: at most {MAX_SINCE.days} days")
    return span


def since(span: timedelta, now: datetime) -> Window:
    """The window of a preview: the `span` up to now, titled by now's ISO week (UTC)."""
    end = now.astimezone(UTC)
    return Window(start=end - span, end=end, week=iso_week(end))
