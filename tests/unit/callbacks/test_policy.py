"""The retry policy: what follows an attempt, inside business hours, with a bounded count."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from callbacks.policy import AttemptOutcome, RetryPolicy, after_attempt, first_allowed
from config.menu import Schedule, TimeRange

# Weekdays 09:00-18:00 in Seoul; 2026-12-25 (a Friday) is a holiday.
SEOUL = Schedule(
    id="main",
    timezone="Asia/Seoul",
    weekly={day: (TimeRange(time(9), time(18)),) for day in range(5)},
    holidays=frozenset({date(2026, 12, 25)}),
)
POLICY = RetryPolicy(max_attempts=3, delays=(timedelta(minutes=5), timedelta(minutes=30)))


def seoul(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Seoul wall-clock time in 2026 as a UTC instant (Seoul is UTC+9, no DST)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=9)


def test_an_answered_call_delivers_the_callback() -> None:
    outcome = after_attempt(
        POLICY, call_status="completed", attempt=1, at=seoul(24, 10), hours=SEOUL
    )

    assert outcome == AttemptOutcome("dialed", reason="answered")


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled", "rejected"])
def test_an_unanswered_attempt_is_retried_after_its_delay(status: str) -> None:
    outcome = after_attempt(POLICY, call_status=status, attempt=1, at=seoul(24, 10), hours=SEOUL)

    assert outcome == AttemptOutcome("pending", due_at=seoul(24, 10, 5), reason=status)


def test_later_attempts_wait_longer_and_the_last_delay_repeats() -> None:
    second = after_attempt(POLICY, call_status="busy", attempt=2, at=seoul(24, 10), hours=None)
    policy = RetryPolicy(max_attempts=5, delays=(timedelta(minutes=5), timedelta(minutes=30)))
    fourth = after_attempt(policy, call_status="busy", attempt=4, at=seoul(24, 10), hours=None)

    assert second.due_at == seoul(24, 10, 30)
    assert fourth.due_at == seoul(24, 10, 30)


def test_the_last_attempt_fails_the_request() -> None:
    outcome = after_attempt(
        POLICY, call_status="no-answer", attempt=3, at=seoul(24, 10), hours=SEOUL
    )

    assert outcome.status == "failed"
    assert outcome.due_at is None
    assert "3 attempt" in outcome.reason


def test_a_retry_falling_after_closing_moves_to_the_next_opening() -> None:
    outcome = after_attempt(
        POLICY, call_status="busy", attempt=1, at=seoul(24, 17, 58), hours=SEOUL
    )

    assert outcome.due_at == seoul(25, 9)


def test_a_retry_skips_holidays_and_the_weekend() -> None:
    # Thursday 2026-12-24 17:58 -> Friday 25th is a holiday -> Monday 28th 09:00.
    outcome = after_attempt(
        POLICY, call_status="busy", attempt=1, at=seoul(24, 17, 58, month=12), hours=SEOUL
    )

    assert outcome.due_at == seoul(28, 9, month=12)


def test_a_schedule_that_never_opens_fails_the_request_instead_of_waiting_forever() -> None:
    closed = Schedule(id="never", timezone="Asia/Seoul", weekly={})

    outcome = after_attempt(POLICY, call_status="busy", attempt=1, at=seoul(24, 10), hours=closed)

    assert outcome.status == "failed"


def test_without_hours_a_callback_may_be_dialled_at_once() -> None:
    assert first_allowed(seoul(24, 23), None) == seoul(24, 23)
    assert first_allowed(seoul(24, 23), SEOUL) == seoul(25, 9)


@pytest.mark.parametrize(
    "policy",
    [
        {"max_attempts": 0},
        {"delays": ()},
        {"delays": (timedelta(0),)},
    ],
)
def test_a_policy_that_could_not_work_is_refused(policy: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**policy)  # type: ignore[arg-type]
