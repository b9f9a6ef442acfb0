"""Business hours: is a schedule open at an instant, and when it opens next (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from config.menu import Schedule


def local_time(schedule: Schedule, at: datetime) -> datetime:
    """The instant ``at`` (timezone-aware) on the schedule's wall clock."""
    if at.tzinfo is None:
        raise ValueError("business hours need a timezone-aware instant")
    return at.astimezone(ZoneInfo(schedule.timezone))


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the schedule is open at ``at``: not a holiday, inside a weekly window."""
    local = local_time(schedule, at)
    if local.date() in schedule.holidays:
        return False
    now = local.time().replace(tzinfo=None)
    return any(w.start <= now < w.end for w in schedule.weekly.get(local.weekday(), ()))


# Schedules open at least once a year; a search this long finds no window only in a schedule
# that never opens (no weekly window, or every such day a holiday).
OPENING_SEARCH_DAYS: Final = 366


def next_opening(schedule: Schedule, at: datetime) -> datetime | None:
    """The first instant at or after ``at`` when the schedule is open (``at`` if it is open).

    Returns:
        The instant, in the schedule's timezone, or None when it never opens within a year.

    """
    local = local_time(schedule, at)
    zone = ZoneInfo(schedule.timezone)
    for offset in range(OPENING_SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        if day in schedule.holidays:
            continue
        for window in sorted(schedule.weekly.get(day.weekday(), ()), key=lambda w: w.start):
            start = datetime.combine(day, window.start, zone)
            end = datetime.combine(day, window.end, zone)
            if local < end:
                return max(start, local)
    return None
