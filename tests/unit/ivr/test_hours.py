"""Business hours: weekly windows, holidays and the schedule's own wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.menu import Schedule, TimeRange
from ivr.hours import is_open, local_time

SEOUL = ZoneInfo("Asia/Seoul")

ALL_DAY = (TimeRange(time(0), time.max),)


def seoul(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SEOUL)


def around_the_clock(*weekdays: int, holidays: frozenset[date] = frozenset()) -> Schedule:
    """Open all day on ``weekdays``: isolates the date and weekday rules from the windows."""
    return Schedule("always", "Asia/Seoul", {day: ALL_DAY for day in weekdays}, holidays)


def test_open_inside_a_weekday_window(schedule: Schedule) -> None:
    assert is_open(schedule, seoul(2026, 3, 2, 10))  # Monday


def test_window_start_is_inclusive(schedule: Schedule) -> None:
    assert is_open(schedule, seoul(2026, 3, 2, 9))
    assert not is_open(schedule, seoul(2026, 3, 2, 8, 59, 59))


def test_window_end_is_exclusive(schedule: Schedule) -> None:
    assert is_open(schedule, seoul(2026, 3, 2, 17, 59, 59))
    assert not is_open(schedule, seoul(2026, 3, 2, 18))


def test_saturday_has_its_own_shorter_window(schedule: Schedule) -> None:
    assert is_open(schedule, seoul(2026, 3, 7, 12, 59))
    assert not is_open(schedule, seoul(2026, 3, 7, 13))
    assert not is_open(schedule, seoul(2026, 3, 7, 15))  # open on a weekday at this hour


def test_closed_on_a_day_without_windows(schedule: Schedule) -> None:
    assert not is_open(schedule, seoul(2026, 3, 8, 10))  # Sunday


def test_closed_on_a_holiday_inside_its_window(schedule: Schedule) -> None:
    assert is_open(schedule, seoul(2026, 12, 24, 10))
    assert not is_open(schedule, seoul(2026, 12, 25, 10))  # Friday, Christmas


def test_several_windows_in_one_day_leave_the_gap_closed() -> None:
    lunch_break = Schedule(
        "lunch",
        "Asia/Seoul",
        {0: (TimeRange(time(9), time(12)), TimeRange(time(13), time(18)))},
    )

    assert is_open(lunch_break, seoul(2026, 3, 2, 11, 59))
    assert not is_open(lunch_break, seoul(2026, 3, 2, 12, 30))
    assert is_open(lunch_break, seoul(2026, 3, 2, 13))


def test_utc_instant_is_judged_on_the_schedule_clock(schedule: Schedule) -> None:
    assert is_open(schedule, datetime(2026, 3, 2, 0, 30, tzinfo=UTC))  # 09:30 in Seoul
    assert not is_open(schedule, datetime(2026, 3, 2, 9, 30, tzinfo=UTC))  # 18:30 in Seoul


def test_instant_in_another_timezone_is_judged_on_the_schedule_clock(schedule: Schedule) -> None:
    sunday_evening_in_new_york = datetime(2026, 3, 1, 20, 30, tzinfo=ZoneInfo("America/New_York"))

    assert is_open(schedule, sunday_evening_in_new_york)  # Monday 10:30 in Seoul


def test_weekday_is_the_local_weekday() -> None:
    mondays = around_the_clock(0)

    assert is_open(mondays, datetime(2026, 3, 1, 20, 0, tzinfo=UTC))  # Sunday UTC, Monday Seoul
    assert not is_open(mondays, datetime(2026, 3, 2, 20, 0, tzinfo=UTC))  # Tuesday in Seoul


def test_holiday_is_the_local_date() -> None:
    christmas = around_the_clock(*range(7), holidays=frozenset({date(2026, 12, 25)}))

    assert not is_open(christmas, datetime(2026, 12, 24, 15, 30, tzinfo=UTC))  # 25th in Seoul
    assert is_open(christmas, datetime(2026, 12, 25, 15, 30, tzinfo=UTC))  # 26th in Seoul


def test_local_time_is_the_schedule_wall_clock(schedule: Schedule) -> None:
    local = local_time(schedule, datetime(2026, 3, 2, 1, 0, tzinfo=UTC))

    assert local == seoul(2026, 3, 2, 10)
    assert (local.hour, local.utcoffset()) == (10, timedelta(hours=9))


def test_naive_instant_is_refused(schedule: Schedule) -> None:
    naive = datetime(2026, 3, 2, 10, 0)

    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(schedule, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        local_time(schedule, naive)
