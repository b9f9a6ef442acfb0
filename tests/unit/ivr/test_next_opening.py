"""When a schedule opens next (`ivr.hours.next_opening`): the earliest a callback may ring."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from config.menu import Schedule, TimeRange
from ivr.hours import next_opening

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SEOUL)


def test_an_open_schedule_is_open_now(schedule: Schedule) -> None:
    assert next_opening(schedule, seoul(3, 2, 10, 17)) == seoul(3, 2, 10, 17)


def test_before_opening_the_schedule_opens_at_the_window_start(schedule: Schedule) -> None:
    assert next_opening(schedule, seoul(3, 2, 7)) == seoul(3, 2, 9)


def test_at_closing_time_the_schedule_opens_the_next_working_day(schedule: Schedule) -> None:
    assert next_opening(schedule, seoul(3, 2, 18)) == seoul(3, 3, 9)


def test_after_saturday_closing_the_schedule_opens_on_monday(schedule: Schedule) -> None:
    assert next_opening(schedule, seoul(3, 7, 13)) == seoul(3, 9, 9)


def test_a_holiday_is_skipped(schedule: Schedule) -> None:
    christmas_eve_evening = seoul(12, 24, 19)  # Thursday; Friday the 25th is a holiday

    assert next_opening(schedule, christmas_eve_evening) == seoul(12, 26, 9)


def test_the_gap_between_two_windows_ends_at_the_second_one() -> None:
    split = Schedule(
        "split", "Asia/Seoul", {0: (TimeRange(time(13), time(18)), TimeRange(time(9), time(12)))}
    )

    assert next_opening(split, seoul(3, 2, 12, 30)) == seoul(3, 2, 13)


def test_a_utc_instant_gets_the_opening_on_the_schedules_clock(schedule: Schedule) -> None:
    sunday_noon_utc = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # Sunday 21:00 in Seoul

    opening = next_opening(schedule, sunday_noon_utc)

    assert opening is not None
    assert opening.isoformat() == "2026-03-09T09:00:00+09:00"


@pytest.mark.parametrize(
    "never",
    [
        Schedule("none", "Asia/Seoul", {}),
        Schedule(
            "holiday-mondays",
            "Asia/Seoul",
            {0: (TimeRange(time(9), time(18)),)},
            frozenset(date.fromordinal(date(2026, 3, 2).toordinal() + 7 * w) for w in range(60)),
        ),
    ],
    ids=["no-window", "every-open-day-a-holiday"],
)
def test_a_schedule_that_never_opens_within_a_year_has_no_opening(never: Schedule) -> None:
    assert next_opening(never, seoul(3, 2, 10)) is None
