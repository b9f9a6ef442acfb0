"""Callback requests the callbacks tests store: a fixed "now" and queued requests by phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from history.callback_requests import CallbackInfo, CallbackRequest, open_request
from history.db import Database

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
"""10:00 in Seoul on a Tuesday: the shipped menu's schedule is open."""


def request_for(
    phone: str, *, place: timedelta = timedelta(0), due: timedelta = timedelta(0)
) -> CallbackRequest:
    """A queued callback request for ``phone``: in line at ``T0 + place``, due at ``T0 + due``."""
    return CallbackRequest(
        phone=phone,
        from_number="+8215880000",
        kind="queued",
        queue="general",
        menu_checksum="menu-checksum",
        node="agents",
        language="ko",
        requested_at=T0,
        original_enqueued_at=T0 + place,
        due_at=T0 + due,
        max_attempts=3,
    )


async def add_request(db: Database, request: CallbackRequest) -> CallbackInfo:
    """Store ``request`` and return the stored row (it must be new)."""
    info, created = await db.write(open_request, request)
    assert created
    return info
