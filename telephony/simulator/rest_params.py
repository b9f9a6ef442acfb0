"""REST request parameters, checked as Twilio checks them; refusals carry Twilio's error codes.

Parameter names are Twilio's (``To``, ``From``, ``Url``, ``StatusCallbackEvent`` repeated, …).
A refusal names the parameter and carries the code Twilio answers with (``21201`` no To,
``21213`` no From, ``21205`` bad Url, ``21602`` no Body, ``20404`` no such resource,
``21220`` a call that is over, ``20001`` any other bad parameter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final
from urllib.parse import urlsplit

from telephony.fields import whole_number
from telephony.simulator.outbound import CallOrder
from telephony.simulator.rest_resources import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

Form = Mapping[str, Sequence[str]]
"""Request parameters, each with every value it was sent with."""

CALL_EVENTS: Final = ("initiated", "ringing", "answered", "completed")
METHODS: Final = frozenset({"GET", "POST"})
MAX_RING_TIMEOUT: Final = 600
"""Seconds: the largest ``Timeout`` Twilio accepts for a call."""
DEFAULT_RING_TIMEOUT: Final = 60
"""Seconds: Twilio's default ``Timeout``."""


class RestRefusal(Exception):
    """Twilio would refuse this request: the HTTP status, Twilio's error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(path: str) -> RestRefusal:
    """Twilio's 404 for a resource it does not have."""
    return RestRefusal(404, 20404, f"The requested resource {path} was not found")


@dataclass(frozen=True)
class CallUpdate:
    """A call update: a redirect (``Url``), or ``Status`` completed or canceled."""

    url: str | None
    method: str
    status: str | None


@dataclass(frozen=True)
class CallFilter:
    """The Calls list filters: ``To``, ``From``, ``Status``, ``StartTime`` (>=, <=, =)."""

    to: str | None = None
    from_: str | None = None
    status: str | None = None
    started_from: datetime | date | None = None
    started_until: datetime | date | None = None
    started_on: date | None = None


@dataclass(frozen=True)
class MessageOrder:
    """A create-message request, checked."""

    to: str
    from_: str
    body: str
    status_callback: str | None


@dataclass(frozen=True)
class Paging:
    """Which page of a list: ``Page`` (from 0) and ``PageSize``."""

    page: int
    size: int


def one(form: Form, name: str) -> str | None:
    """The (last) value of a parameter, or None when absent or empty."""
    values = form.get(name) or ()
    return values[-1] if values and values[-1] != "" else None


def call_order(form: Form) -> CallOrder:
    """A create-call request, or the refusal Twilio would answer."""
    to = _required(form, "To", 21201, "No 'To' number is specified")
    from_ = _required(form, "From", 21213, "No 'From' number is specified")
    if one(form, "Twiml") is not None or one(form, "ApplicationSid") is not None:
        raise RestRefusal(400, 20001, "Twiml and ApplicationSid are not simulated: give a Url")
    url = _url(form, "Url", 21205, required=True)
    callback = _url(form, "StatusCallback", 21609, required=False)
    events = tuple(form.get("StatusCallbackEvent") or ())
    for event in events:
        if event not in CALL_EVENTS:
            raise RestRefusal(
                400, 20001, f"StatusCallbackEvent {event!r} is not one of {CALL_EVENTS}"
            )
    return CallOrder(
        to=to,
        from_=from_,
        url=url or "",
        method=_method(form, "Method"),
        status_callback=callback,
        status_callback_method=_method(form, "StatusCallbackMethod"),
        status_events=events,
        timeout_seconds=_integer(form, "Timeout", DEFAULT_RING_TIMEOUT, 1, MAX_RING_TIMEOUT),
    )


def call_update(form: Form) -> CallUpdate:
    """A call update, or the refusal Twilio would answer."""
    if one(form, "Twiml") is not None:
        raise RestRefusal(400, 20001, "Twiml is not simulated: give a Url")
    status = one(form, "Status")
    if status is not None and status not in ("completed", "canceled"):
        raise RestRefusal(400, 20001, f"Status {status!r} is not completed or canceled")
    return CallUpdate(
        url=_url(form, "Url", 21205, required=False), method=_method(form, "Method"), status=status
    )


def member_update(form: Form) -> tuple[str, str]:
    """A queue member update (dequeue): its ``Url`` and ``Method``."""
    url = _url(form, "Url", 21205, required=True)
    return url or "", _method(form, "Method")


def queue_order(form: Form) -> tuple[str, int | None]:
    """A create-queue request: ``FriendlyName`` and ``MaxSize``."""
    name = _required(form, "FriendlyName", 20001, "FriendlyName is required")
    if len(name) > 64:
        raise RestRefusal(400, 20001, "FriendlyName must be 64 characters or less")
    size = _integer(form, "MaxSize", 0, 1, 5000)
    return name, size or None


def message_order(form: Form) -> MessageOrder:
    """A create-message request, or the refusal Twilio would answer."""
    to = _required(form, "To", 21604, "A 'To' phone number is required")
    from_ = _required(form, "From", 21603, "A 'From' phone number is required")
    body = _required(form, "Body", 21602, "Message body is required")
    callback = _url(form, "StatusCallback", 21609, required=False)
    return MessageOrder(to=to, from_=from_, body=body, status_callback=callback)


def call_filter(query: Form) -> CallFilter:
    """The Calls list filters (the twilio client sends ``StartTime>`` for "on or after")."""
    return CallFilter(
        to=one(query, "To"),
        from_=one(query, "From"),
        status=one(query, "Status"),
        started_from=_moment(query, ("StartTime>", "StartTime>=")),
        started_until=_moment(query, ("StartTime<", "StartTime<=")),
        started_on=_day(query, "StartTime"),
    )


def paging(query: Form) -> Paging:
    """``Page`` and ``PageSize``, within Twilio's limits."""
    return Paging(
        page=_integer(query, "Page", 0, 0, 10**6),
        size=_integer(query, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    )


def _required(form: Form, name: str, code: int, message: str) -> str:
    value = one(form, name)
    if value is None:
        raise RestRefusal(400, code, message)
    return value


def _url(form: Form, name: str, code: int, *, required: bool) -> str | None:
    value = one(form, name)
    if value is None:
        if required:
            raise RestRefusal(400, code, f"{name} is required")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RestRefusal(400, code, f"{name} {value!r} is not a valid URL")
    return value


def _method(form: Form, name: str) -> str:
    value = (one(form, name) or "POST").upper()
    if value not in METHODS:
        raise RestRefusal(400, 20001, f"{name} {value!r} is not GET or POST")
    return value


def _integer(form: Form, name: str, default: int, low: int, high: int) -> int:
    raw = one(form, name)
    if raw is None:
        return default
    value = whole_number(raw, high)
    if value is None or value < low:
        raise RestRefusal(400, 20001, f"{name} {raw!r} is not an integer from {low} to {high}")
    return value


def _moment(query: Form, names: Sequence[str]) -> datetime | date | None:
    for name in names:
        raw = one(query, name)
        if raw is not None:
            return _parse_moment(name, raw)
    return None


def _day(query: Form, name: str) -> date | None:
    moment = _moment(query, (name,))
    return moment.date() if isinstance(moment, datetime) else moment


def _parse_moment(name: str, raw: str) -> datetime | date:
    try:
        if "T" not in raw:
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise RestRefusal(400, 20001, f"{name} {raw!r} is not a date (YYYY-MM-DD)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
