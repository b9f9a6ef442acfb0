"""Callback time slots: which a ``callback`` node offers, and how a slot is said (pure)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from config.menu import CallbackNode, Schedule

_KO_WEEKDAYS: Final = "월화수목금토일"
_EN_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def offered_slots(node: CallbackNode, schedule: Schedule, at: datetime) -> list[datetime]:
    """The first ``node.slots`` slot starts a caller at ``at`` may book.

    A slot starts on the grid of ``slot_minutes`` from the start of an opening window, ends
    inside that window, starts at least ``lead_minutes`` after ``at``, falls within
    ``days_ahead`` days and never on a holiday.

    Returns:
        Slot starts in the schedule's timezone, earliest first (fewer when the schedule has
        fewer free slots in range; empty when none).

    """
    found: list[datetime] = []
    for start in _slot_starts(node, schedule, at):
        found.append(start)
        if len(found) == node.slots:
            break
    return found


def _slot_starts(node: CallbackNode, schedule: Schedule, at: datetime) -> Iterator[datetime]:
    zone = ZoneInfo(schedule.timezone)
    local = at.astimezone(zone)
    # In UTC: datetimes sharing the zone compare and add on the wall clock, which would make
    # the lead an hour short (or long) across a clock change.
    earliest = at.astimezone(UTC) + timedelta(minutes=node.lead_minutes)
    length = timedelta(minutes=node.slot_minutes)
    for offset in range(node.days_ahead + 1):
        day = local.date() + timedelta(days=offset)
        if day in schedule.holidays:
            continue
        for window in sorted(schedule.weekly.get(day.weekday(), ()), key=lambda w: w.start):
            start = datetime.combine(day, window.start, zone)
            end = _window_end(day, window.end, zone)
            while start + length <= end:
                if start >= earliest:
                    yield start
                start += length


def stored_slot(start: str, schedule: Schedule) -> datetime:
    """A slot start kept in ISO 8601 back on the schedule's clock.

    The stored UTC offset alone is not the zone: across a clock change it would put "now" on
    the wrong day when the slot is said ("tomorrow" for a Monday, on a Saturday night).
    """
    return datetime.fromisoformat(start).astimezone(ZoneInfo(schedule.timezone))


def _window_end(day: date, end: time, zone: ZoneInfo) -> datetime:
    # A window written to 24:00 ends at `time.max`: its last slot ends at the next midnight.
    if end == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), zone)
    return datetime.combine(day, end, zone)


def spoken_slot(start: datetime, language: str, now: datetime) -> str:
    """How slot ``start`` is said to a caller at ``now`` (both seen in ``start``'s timezone).

    Korean: "내일 오전 10시", "11월 27일 금요일 오후 2시 30분"; English: "tomorrow at 10 AM",
    "Friday, November 27 at 2:30 PM". Another language gets an ISO-like form.
    """
    today = now.astimezone(start.tzinfo).date()
    if language == "ko":
        return f"{_ko_day(start.date(), today)} {_ko_time(start)}"
    if language == "en":
        return f"{_en_day(start.date(), today)} at {_en_time(start)}"
    return start.strftime("%Y-%m-%d %H:%M")


def _ko_day(day: date, today: date) -> str:
    relative = {0: "오늘", 1: "내일", 2: "모레"}.get((day - today).days)
    if relative is not None:
        return relative
    return f"{day.month}월 {day.day}일 {_KO_WEEKDAYS[day.weekday()]}요일"


def _ko_time(at: datetime) -> str:
    half = "오전" if at.hour < 12 else "오후"
    hour = at.hour % 12 or 12
    return f"{half} {hour}시" + (f" {at.minute}분" if at.minute else "")


def _en_day(day: date, today: date) -> str:
    relative = {0: "today", 1: "tomorrow"}.get((day - today).days)
    if relative is not None:
        return relative
    return f"{_EN_WEEKDAYS[day.weekday()]}, {_EN_MONTHS[day.month - 1]} {day.day}"


def _en_time(at: datetime) -> str:
    hour = at.hour % 12 or 12
    minutes = f":{at.minute:02d}" if at.minute else ""
    return f"{hour}{minutes} {'AM' if at.hour < 12 else 'PM'}"
