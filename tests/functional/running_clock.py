"""A clock for tests that need business hours and real durations (imported by test modules).

Not in conftest: when several test folders are collected together, ``from conftest import``
finds whichever folder's conftest was imported last.
"""

from __future__ import annotations

from datetime import UTC, datetime


class RunningClock:
    """Real time from a chosen instant: business hours, and durations that mean something."""

    def __init__(self, start: datetime) -> None:
        self._offset = start - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset
