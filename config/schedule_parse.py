"""Turning a menu's ``schedules`` into business hours: time zone, weekly windows, holidays."""

from __future__ import annotations

import re
from datetime import date, time
from itertools import pairwise
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.menu import Schedule, TimeRange
from config.menu_fields import NAME, NAME_RULE, Section, shown

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW: Final = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# "24:00" is the only way to write "until midnight": TimeRange ends are exclusive times of day.
END_OF_DAY: Final = time.max


def parse_schedules(schedules: Section | None) -> dict[str, Schedule]:
    """Build every schedule of the ``schedules`` section that is entirely valid, by id."""
    built: dict[str, Schedule] = {}
    if schedules is None:
        return built
    for schedule_id in schedules.data:
        before = len(schedules.issues)
        if not isinstance(schedule_id, str) or not NAME.fullmatch(schedule_id):
            schedules.report(str(schedule_id), f"is not a valid schedule id: {NAME_RULE}")
            continue
        sec = schedules.section(schedule_id)
        schedule = None if sec is None else parse_schedule(sec, schedule_id)
        if schedule is not None and len(schedules.issues) == before:
            built[schedule_id] = schedule
    return built


def parse_schedule(sec: Section, schedule_id: str) -> Schedule | None:
    """Build one schedule: ``timezone``, ``weekly`` windows and optional ``holidays``."""
    sec.check_keys(("timezone", "weekly"), ("holidays",), "a schedule")
    timezone = _timezone(sec)
    weekly = _weekly(sec)
    holidays = _holidays(sec)
    if timezone is None or weekly is None:
        return None
    return Schedule(id=schedule_id, timezone=timezone, weekly=weekly, holidays=holidays)


def _timezone(sec: Section) -> str | None:
    name = sec.text("timezone")
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        sec.report("timezone", f"'{name}' is not an IANA time zone, e.g. Asia/Seoul")
        return None
    return name


def _weekly(sec: Section) -> dict[int, tuple[TimeRange, ...]] | None:
    weekly = sec.section("weekly")
    if weekly is None:
        return None
    windows: dict[int, list[TimeRange]] = {}
    for spec, value in weekly.data.items():
        try:
            days = parse_days(str(spec))
            day_windows = _windows(value)
        except ValueError as err:
            weekly.report(str(spec), str(err))
            continue
        for day in days:
            windows.setdefault(day, []).extend(day_windows)
    for day, ranges in windows.items():
        _check_overlaps(weekly, day, ranges)
    return {day: tuple(sorted(windows[day], key=lambda w: w.start)) for day in sorted(windows)}


def parse_days(spec: str) -> list[int]:
    """Weekdays (0 = Monday) of a key like ``mon-fri``, ``sat`` or ``mon,wed``.

    Raises:
        ValueError: When a part is not a weekday or a range runs backwards.

    """
    days: list[int] = []
    for part in spec.lower().split(","):
        first, dash, last = part.partition("-")
        start = _weekday(first.strip())
        end = _weekday(last.strip()) if dash else start
        if start > end:
            raise ValueError(f"'{part.strip()}' runs backwards; write e.g. 'mon-fri', 'sat,sun'")
        days.extend(range(start, end + 1))
    return days


def _weekday(name: str) -> int:
    if name not in WEEKDAYS:
        raise ValueError(f"'{name}' is not a weekday; use {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(name)


def _windows(value: Any) -> list[TimeRange]:
    texts = value if isinstance(value, list) else [value]
    return [parse_window(text) for text in texts]


def parse_window(text: object) -> TimeRange:
    """An opening window written ``"HH:MM-HH:MM"`` (start before end; the end may be 24:00).

    Raises:
        ValueError: When the text is not such a window.

    """
    match = WINDOW.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'{shown(text)} is not a window like "09:00-18:00" (or a list of them)')
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise ValueError(f"'{text}' has a time that does not exist")
    start = time(start_h, start_m)
    end = END_OF_DAY if end_h == 24 else time(end_h, end_m)
    if start >= end:
        raise ValueError(f"'{text}' must start before it ends")
    return TimeRange(start=start, end=end)


def _check_overlaps(weekly: Section, day: int, ranges: list[TimeRange]) -> None:
    ordered = sorted(ranges, key=lambda w: w.start)
    for before, after in pairwise(ordered):
        if after.start < before.end:
            weekly.report_self(
                f"windows overlap on {WEEKDAYS[day]}: {_show(before)}, {_show(after)}"
            )


def _show(window: TimeRange) -> str:
    end = "24:00" if window.end == END_OF_DAY else window.end.strftime("%H:%M")
    return f"{window.start.strftime('%H:%M')}-{end}"


def _holidays(sec: Section) -> frozenset[date]:
    if "holidays" not in sec.data:
        return frozenset()
    value = sec.data["holidays"]
    if not isinstance(value, list):
        sec.report("holidays", 'must be a list of dates like "2026-12-25"')
        return frozenset()
    days: set[date] = set()
    for index, text in enumerate(value):
        day = _iso_date(text)
        if day is None:
            sec.report(f"holidays[{index}]", f'{shown(text)} is not a date like "2026-12-25"')
        else:
            days.add(day)
    return frozenset(days)


def _iso_date(text: object) -> date | None:
    if not isinstance(text, str) or not ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # well formed but no such day, e.g. 2026-02-30
        return None
