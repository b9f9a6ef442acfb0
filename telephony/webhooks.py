"""Twilio voice webhook forms → engine events. Parsers return ``None`` for what they cannot use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ivr import events as ev
from telephony.fields import whole_number

# Twilio CallStatus values after which the call is over.
FINAL_CALL_STATUSES: Final = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class CallIdentity:
    """Who is calling whom, from an incoming-call webhook."""

    call_sid: str
    caller: str
    called: str


@dataclass(frozen=True)
class StatusReport:
    """A status callback: final statuses end the call; the sequence number makes it idempotent."""

    call_sid: str
    status: str
    sequence: int | None
    duration_seconds: int

    @property
    def is_final(self) -> bool:
        """Whether this status ends the call."""
        return self.status in FINAL_CALL_STATUSES


def call_identity(form: Mapping[str, str]) -> CallIdentity | None:
    """The call's SID and parties, or None when the form lacks them."""
    call_sid = form.get("CallSid", "")
    caller = form.get("From") or form.get("Caller") or ""
    called = form.get("To") or form.get("Called") or ""
    if not call_sid or not caller:
        return None
    return CallIdentity(call_sid, caller, called)


def turn_of(query: Mapping[str, str]) -> int | None:
    """The wait a webhook answers (our ``turn`` query parameter), or None."""
    return whole_number(query.get("turn"))


def digits_entered(form: Mapping[str, str], at: datetime) -> ev.DigitsEntered | ev.NoInput:
    """A Gather action: the digits pressed, or no input when Twilio sent none."""
    digits = form.get("Digits", "")
    return ev.DigitsEntered(at=at, digits=digits) if digits else ev.NoInput(at=at)


def transfer_ended(form: Mapping[str, str], at: datetime) -> ev.TransferEnded:
    """A Dial action: how the transfer leg ended."""
    return ev.TransferEnded(
        at=at,
        status=form.get("DialCallStatus", "failed") or "failed",
        duration_seconds=_int(form.get("DialCallDuration")),
    )


def queue_result(form: Mapping[str, str], at: datetime) -> ev.QueueResult:
    """An Enqueue action: why the caller left the queue and after how long."""
    return ev.QueueResult(
        at=at,
        result=form.get("QueueResult", "error") or "error",
        queue_seconds=_int(form.get("QueueTime")),
    )


def queue_time(form: Mapping[str, str]) -> int:
    """Seconds the caller has waited in the queue (an Enqueue waitUrl's ``QueueTime``)."""
    return _int(form.get("QueueTime"))


def agent_call_ended(form: Mapping[str, str], at: datetime) -> ev.AgentCallEnded:
    """The Dial into an agent's conference ended: how long the caller was in it."""
    return ev.AgentCallEnded(at=at, duration_seconds=_int(form.get("DialCallDuration")))


def status_report(form: Mapping[str, str]) -> StatusReport | None:
    """A status callback, or None when it names no call or status."""
    call_sid = form.get("CallSid", "")
    status = form.get("CallStatus", "")
    if not call_sid or not status:
        return None
    return StatusReport(
        call_sid=call_sid,
        status=status,
        sequence=whole_number(form.get("SequenceNumber")),
        duration_seconds=_int(form.get("CallDuration")),
    )


def _int(raw: str | None) -> int:
    """A count or duration Twilio sent; 0 when it is missing or not a number."""
    return whole_number(raw) or 0
