"""Recorded Twilio webhook payloads → engine events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr import events as ev
from telephony import webhooks

FIXTURES = Path(__file__).parents[2] / "fixtures" / "twilio"
AT = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)


def payload(name: str) -> dict[str, str]:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_incoming_call_names_the_call_and_its_parties() -> None:
    identity = webhooks.call_identity(payload("incoming_call"))
    assert identity == webhooks.CallIdentity(
        "CA0123456789abcdef0123456789abcdef", "+821012345678", "+8215881234"
    )


def test_incoming_call_without_call_sid_is_not_an_identity() -> None:
    form = payload("incoming_call")
    del form["CallSid"]
    assert webhooks.call_identity(form) is None


def test_gather_with_digits_is_digits_entered() -> None:
    assert webhooks.digits_entered(payload("gather_digits"), AT) == ev.DigitsEntered(
        at=AT, digits="12345678"
    )


def test_gather_with_empty_digits_is_no_input() -> None:
    form = payload("gather_digits") | {"Digits": ""}
    assert webhooks.digits_entered(form, AT) == ev.NoInput(at=AT)


def test_dial_action_reports_how_the_transfer_ended() -> None:
    assert webhooks.transfer_ended(payload("dial_action"), AT) == ev.TransferEnded(
        at=AT, status="busy", duration_seconds=0
    )


def test_dial_action_without_status_counts_as_failed() -> None:
    assert webhooks.transfer_ended({}, AT).status == "failed"


def test_enqueue_action_reports_queue_result_and_time() -> None:
    assert webhooks.queue_result(payload("enqueue_action"), AT) == ev.QueueResult(
        at=AT, result="hangup", queue_seconds=37
    )


def test_status_callback_is_final_with_sequence_and_duration() -> None:
    report = webhooks.status_report(payload("status_completed"))
    assert report == webhooks.StatusReport("CA0123456789abcdef0123456789abcdef", "completed", 0, 42)
    assert report.is_final


@pytest.mark.parametrize("status", ["queued", "ringing", "in-progress"])
def test_progress_statuses_are_not_final(status: str) -> None:
    report = webhooks.status_report(payload("status_completed") | {"CallStatus": status})
    assert report is not None and not report.is_final


def test_status_callback_without_status_is_dropped() -> None:
    assert webhooks.status_report({"CallSid": "CA1"}) is None


@pytest.mark.parametrize(("query", "turn"), [({"turn": "3"}, 3), ({"turn": "x"}, None), ({}, None)])
def test_turn_is_read_from_the_action_url(query: dict[str, str], turn: int | None) -> None:
    assert webhooks.turn_of(query) == turn


# Issue 10, finding 2: str.isdigit() accepted these, then int() raised (a 500 on a signed webhook).
NOT_DIGITS = ["²", "①", "9" * 5000, "١٢٣"]


@pytest.mark.parametrize("raw", NOT_DIGITS)
def test_a_turn_in_other_digits_is_no_turn(raw: str) -> None:
    assert webhooks.turn_of({"turn": raw}) is None


@pytest.mark.parametrize("raw", NOT_DIGITS)
def test_a_status_with_other_digits_has_no_sequence_and_no_duration(raw: str) -> None:
    form = payload("status_completed") | {"SequenceNumber": raw, "CallDuration": raw}
    report = webhooks.status_report(form)
    assert report is not None and report.sequence is None and report.duration_seconds == 0


@pytest.mark.parametrize("raw", NOT_DIGITS)
def test_queue_and_dial_times_in_other_digits_count_as_zero(raw: str) -> None:
    assert webhooks.queue_time({"QueueTime": raw}) == 0
    assert webhooks.queue_result({"QueueTime": raw}, AT).queue_seconds == 0
    assert webhooks.transfer_ended({"DialCallDuration": raw}, AT).duration_seconds == 0
    assert webhooks.agent_call_ended({"DialCallDuration": raw}, AT).duration_seconds == 0
