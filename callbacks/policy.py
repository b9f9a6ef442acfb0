"""When a callback is dialled again, and what an outbound call's final status means (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from config.menu import Schedule
from ivr.hours import next_opening

# Twilio's final CallStatus values of an outbound call, and what they mean for the request.
ANSWERED: Final = frozenset({"completed"})
"""The customer picked up (a completed outbound call was answered)."""
NOT_REACHED: Final = frozenset({"busy", "no-answer", "failed", "canceled"})
"""Worth another attempt later: the line was busy, nobody answered, the call failed."""

# A busy line is often free again minutes later; someone who does not pick up is more likely
# away, so later attempts wait longer. Three attempts within about an hour and a half is the
# usual call-center courtesy: more feels like harassment.
DEFAULT_RETRY_DELAYS: Final = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=1))
DEFAULT_MAX_ATTEMPTS: Final = 3


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon a callback is tried again.

    Attributes:
        max_attempts: Dial attempts in all before the request fails.
        delays: The wait after attempt 1, 2, …; the last one repeats.

    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    delays: Sequence[timedelta] = DEFAULT_RETRY_DELAYS

    def __post_init__(self) -> None:
        """Refuse a policy that could never dial or never wait."""
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not self.delays or any(d <= timedelta(0) for d in self.delays):
            raise ValueError("delays must be positive, and at least one is needed")

    def delay_after(self, attempt: int) -> timedelta:
        """The wait after attempt number ``attempt`` (counted from 1)."""
        return self.delays[min(attempt, len(self.delays)) - 1]


@dataclass(frozen=True)
class AttemptOutcome:
    """What to do with a request after one attempt ended.

    ``status`` is the request's new status (``dialed``, ``pending`` for a retry at ``due_at``,
    or ``failed``).
    """

    status: str
    due_at: datetime | None = None
    reason: str = ""


def after_attempt(
    policy: RetryPolicy,
    *,
    call_status: str,
    attempt: int,
    at: datetime,
    hours: Schedule | None,
) -> AttemptOutcome:
    """Decide what follows an attempt whose outbound call ended with ``call_status``.

    Args:
        policy: Retries allowed.
        call_status: Twilio's final CallStatus, or ``rejected`` when Twilio refused to dial.
        attempt: The attempt that ended (1 for the first).
        at: When it ended.
        hours: When the callback may be dialled (None: any time).

    """
    if call_status in ANSWERED:
        return AttemptOutcome("dialed", reason="answered")
    if attempt >= policy.max_attempts:
        return AttemptOutcome("failed", reason=f"{call_status} after {attempt} attempt(s)")
    due = first_allowed(at + policy.delay_after(attempt), hours)
    if due is None:
        return AttemptOutcome("failed", reason=f"{call_status}; the schedule never opens again")
    return AttemptOutcome("pending", due_at=due, reason=call_status)


def first_allowed(at: datetime, hours: Schedule | None) -> datetime | None:
    """The first moment at or after ``at`` a callback may be dialled (None: never)."""
    return at if hours is None else next_opening(hours, at)
