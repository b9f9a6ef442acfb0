"""Callback slots: which a ``callback`` node offers, and how a slot is said (`ivr.slots`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.menu import CallbackNode, Schedule, TimeRange
from ivr.slots import offered_slots, spoken_slot

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_SIX = (TimeRange(time(9), time(18)),)
SEOUL_HOURS = Schedule(
    id="main",
    timezone="Asia/Seoul",
    weekly={day: NINE_TO_SIX for day in range(5)} | {5: (TimeRange(time(9), time(13)),)},
    holidays=frozenset({date(2026, 12, 25)}),
)
NEW_YORK_HOURS = Schedule(
    id="ny",
    timezone="America/New_York",
    weekly={day: (TimeRange(time(9), time(17)),) for day in range(5)},
)
NEW_YORK_ALWAYS = Schedule(
    id="ny",
    timezone="America/New_York",
    weekly={day: (TimeRange(time(0), time.max),) for day in range(7)},
)


def seoul(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SEOUL)


def new_york(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


def node(**fields: Any) -> CallbackNode:
    """A callback node of the defaults (3 slots of 60 minutes, 60 minutes' lead, 7 days)."""
    return CallbackNode(
        id="book", queue="general", schedule="main", prompt={}, next="bye", **fields
    )


def slots(at: datetime, schedule: Schedule = SEOUL_HOURS, **fields: Any) -> list[datetime]:
    return offered_slots(node(**fields), schedule, at)


# --- which slots ------------------------------------------------------------------------------


def test_first_slot_starts_at_least_lead_minutes_after_the_call() -> None:
    assert slots(seoul(3, 2, 10)) == [seoul(3, 2, 11), seoul(3, 2, 12), seoul(3, 2, 13)]


def test_slot_starting_exactly_at_the_lead_is_offered() -> None:
    assert slots(seoul(3, 2, 10), lead_minutes=0)[0] == seoul(3, 2, 10)


def test_a_minute_more_lead_moves_to_the_next_slot() -> None:
    assert slots(seoul(3, 2, 10), lead_minutes=61)[0] == seoul(3, 2, 12)


def test_slots_lie_on_the_grid_from_the_window_start() -> None:
    assert slots(seoul(3, 2, 10), lead_minutes=0, slot_minutes=45) == [
        seoul(3, 2, 10, 30),
        seoul(3, 2, 11, 15),
        seoul(3, 2, 12),
    ]


def test_a_slot_must_end_inside_its_window() -> None:
    saturday_early = seoul(3, 7, 8)  # Saturday: 09:00-13:00

    offered = slots(saturday_early, lead_minutes=0, slot_minutes=90)

    assert offered == [seoul(3, 7, 9), seoul(3, 7, 10, 30), seoul(3, 9, 9)]


def test_each_window_of_a_day_has_its_own_grid() -> None:
    lunch_break = Schedule(
        "split",
        "Asia/Seoul",
        {0: (TimeRange(time(13, 30), time(18)), TimeRange(time(9), time(12)))},
    )

    offered = slots(seoul(3, 2, 8), lunch_break, lead_minutes=0, slots=5)

    assert offered == [
        seoul(3, 2, 9),
        seoul(3, 2, 10),
        seoul(3, 2, 11),
        seoul(3, 2, 13, 30),
        seoul(3, 2, 14, 30),
    ]


def test_no_slot_falls_on_a_weekend_day_without_hours() -> None:
    saturday_after_noon = seoul(3, 7, 12, 30)  # the last Saturday slot (12:00) is too early

    assert slots(saturday_after_noon) == [seoul(3, 9, 9), seoul(3, 9, 10), seoul(3, 9, 11)]


def test_no_slot_falls_on_a_holiday() -> None:
    christmas_eve_late = seoul(12, 24, 17, 30)  # Thursday; Friday the 25th is a holiday

    assert slots(christmas_eve_late) == [seoul(12, 26, 9), seoul(12, 26, 10), seoul(12, 26, 11)]


def test_slots_lie_within_days_ahead() -> None:
    friday_evening = seoul(3, 6, 19)

    offered = slots(friday_evening, days_ahead=2, slots=8)

    assert offered == [seoul(3, 7, 9), seoul(3, 7, 10), seoul(3, 7, 11), seoul(3, 7, 12)]


def test_no_slot_when_none_is_free_within_days_ahead() -> None:
    saturday_after_closing = seoul(3, 7, 14)

    assert slots(saturday_after_closing, days_ahead=1) == []


def test_slots_are_on_the_schedules_clock_whatever_the_calls_zone() -> None:
    offered = slots(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # 10:00 in Seoul

    assert offered[0] == seoul(3, 2, 11)
    assert offered[0].isoformat() == "2026-03-02T11:00:00+09:00"


def test_a_window_until_midnight_offers_its_last_slot() -> None:
    evenings = Schedule("late", "Asia/Seoul", {0: (TimeRange(time(20), time.max),)})

    offered = slots(seoul(3, 2, 19), evenings, lead_minutes=0, slots=4)

    assert offered == [seoul(3, 2, 20), seoul(3, 2, 21), seoul(3, 2, 22), seoul(3, 2, 23)]


def test_slots_after_the_spring_change_keep_their_wall_clock_time() -> None:
    friday_afternoon = new_york(3, 6, 16, 30)  # EST; clocks go forward on Sunday the 8th

    offered = slots(friday_afternoon, NEW_YORK_HOURS)

    assert offered[0] == new_york(3, 9, 9)
    assert offered[0].astimezone(UTC) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "first"),
    [
        (new_york(3, 7, 18), new_york(3, 8, 19)),  # 23 hours of wall clock in between
        (new_york(10, 31, 18), new_york(11, 1, 17)),  # 25 hours of wall clock in between
    ],
    ids=["spring-forward", "fall-back"],
)
def test_lead_time_is_real_time_across_a_clock_change(at: datetime, first: datetime) -> None:
    offered = slots(at, NEW_YORK_ALWAYS, lead_minutes=24 * 60, slots=1)

    assert offered == [first]
    assert offered[0].astimezone(UTC) - at.astimezone(UTC) == timedelta(hours=24)


# --- how a slot is said -----------------------------------------------------------------------

MONDAY_TEN = seoul(3, 2, 10)


@pytest.mark.parametrize(
    ("start", "korean", "english"),
    [
        (seoul(3, 2, 14, 30), "오늘 오후 2시 30분", "today at 2:30 PM"),
        (seoul(3, 3, 10), "내일 오전 10시", "tomorrow at 10 AM"),
        (seoul(3, 4, 9), "모레 오전 9시", "Wednesday, March 4 at 9 AM"),
        (seoul(3, 5, 9, 5), "3월 5일 목요일 오전 9시 5분", "Thursday, March 5 at 9:05 AM"),
        (seoul(3, 15, 16), "3월 15일 일요일 오후 4시", "Sunday, March 15 at 4 PM"),
    ],
    ids=["today", "tomorrow", "day-after", "weekday", "a-week-on"],
)
def test_slot_is_said_by_its_day_and_12_hour_time(
    start: datetime, korean: str, english: str
) -> None:
    assert spoken_slot(start, "ko", MONDAY_TEN) == korean
    assert spoken_slot(start, "en", MONDAY_TEN) == english


@pytest.mark.parametrize(
    ("hour", "minute", "korean", "english"),
    [
        (0, 0, "오전 12시", "12 AM"),
        (0, 30, "오전 12시 30분", "12:30 AM"),
        (11, 59, "오전 11시 59분", "11:59 AM"),
        (12, 0, "오후 12시", "12 PM"),
        (12, 15, "오후 12시 15분", "12:15 PM"),
        (23, 0, "오후 11시", "11 PM"),
    ],
)
def test_midnight_and_noon_are_12_on_the_12_hour_clock(
    hour: int, minute: int, korean: str, english: str
) -> None:
    start = seoul(3, 3, hour, minute)

    assert spoken_slot(start, "ko", MONDAY_TEN) == f"내일 {korean}"
    assert spoken_slot(start, "en", MONDAY_TEN) == f"tomorrow at {english}"


def test_today_is_the_day_on_the_slots_clock() -> None:
    late_monday_in_utc = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # Tuesday 01:00 in Seoul

    assert spoken_slot(seoul(3, 3, 10), "ko", late_monday_in_utc) == "오늘 오전 10시"


def test_slot_in_new_york_is_said_on_new_yorks_clock() -> None:
    saturday_night = new_york(3, 7, 23, 30)  # EST; the slot is in EDT

    assert spoken_slot(new_york(3, 8, 10), "en", saturday_night) == "tomorrow at 10 AM"
    assert spoken_slot(new_york(3, 9, 9), "en", saturday_night) == "Monday, March 9 at 9 AM"


def test_a_language_without_words_for_slots_gets_the_date_and_24_hour_time() -> None:
    assert spoken_slot(seoul(3, 3, 14, 30), "ja", MONDAY_TEN) == "2026-03-03 14:30"
