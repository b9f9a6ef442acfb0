"""Business hours: is a schedule open at a given instant (pure, clock passed in)."""

from __future__ import annotations

from datetime import datetime
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
