"""The form parameters Twilio sends with each kind of voice webhook.

Sources: Twilio's "TwiML Voice: Twilio's Request" page (the standard parameters), the
``<Gather>``, ``<Dial>`` and ``<Enqueue>`` reference pages (their action and waitUrl
parameters) and the call status callback parameters, cross-checked against payloads that
Twilio really sent, as logged in public projects (``msg=Gather End``, ``DialBridged``,
empty geographic fields when the lookup finds nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Final

from telephony.simulator.scenario import CallerConfig

API_VERSION: Final = "2010-04-01"
CALLBACK_SOURCE: Final = "call-progress-events"
GATHER_END: Final = "Gather End"
DEFAULT_MAX_QUEUE_SIZE: Final = 100
"""Calls: the queue size Twilio reports when ``<Enqueue maxQueueSize>`` is not set."""

_PARTIES: Final = ("From", "To", "Caller", "Called")
_GEOGRAPHY: Final = ("City", "State", "Zip", "Country")


@dataclass(frozen=True)
class QueuePlace:
    """Where a caller is in a queue, as an ``<Enqueue waitUrl>`` request reports it."""

    position: int
    size: int
    average_seconds: int


@dataclass(frozen=True)
class TwilioForms:
    """Builds each webhook's form for one call."""

    config: CallerConfig

    def call(self, status: str) -> dict[str, str]:
        """The standard parameters every voice webhook carries.

        Args:
            status: ``CallStatus``: ``ringing`` for the incoming call, then ``in-progress``.

        """
        config = self.config
        form = {
            "AccountSid": config.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": config.call_sid,
            "CallStatus": status,
            "Called": config.called,
            "Caller": config.caller,
            "Direction": config.direction,
            "From": config.caller,
            "To": config.called,
        }
        # Twilio sends the geographic fields empty when its lookup finds nothing.
        form.update({party + part: "" for party in _PARTIES for part in _GEOGRAPHY})
        return form

    def gather(self, digits: str, finished_on_key: str) -> dict[str, str]:
        """A ``<Gather>`` action: the keys pressed, without the finish key."""
        return {
            **self.call("in-progress"),
            "Digits": digits,
            "FinishedOnKey": finished_on_key,
            "msg": GATHER_END,
        }

    def dial(self, status: str, dial_call_sid: str | None, duration: int) -> dict[str, str]:
        """A ``<Dial>`` action: how the dialed leg ended.

        Args:
            status: ``DialCallStatus``.
            dial_call_sid: The dialed leg's SID; None after a conference, where Twilio
                sends no ``DialCallSid``.
            duration: ``DialCallDuration``, seconds.

        """
        form = {
            **self.call("in-progress"),
            "DialCallStatus": status,
            "DialCallDuration": str(duration),
            "DialBridged": "true" if status == "completed" else "false",
        }
        if dial_call_sid is not None:
            form["DialCallSid"] = dial_call_sid
        return form

    def queue_wait(
        self, queue_sid: str, waited: float, max_size: int, place: QueuePlace | None = None
    ) -> dict[str, str]:
        """An ``<Enqueue waitUrl>`` request: where the caller is in the queue.

        Args:
            queue_sid: The queue.
            waited: Seconds the caller has waited.
            max_size: The queue's maximum size.
            place: Position, size and average wait; None: the caller is alone in it.

        """
        place = place or QueuePlace(position=1, size=1, average_seconds=0)
        return {
            **self.call("in-progress"),
            "QueueSid": queue_sid,
            "QueuePosition": str(place.position),
            "QueueTime": str(round(waited)),
            "AvgQueueTime": str(place.average_seconds),
            "CurrentQueueSize": str(place.size),
            "MaxQueueSize": str(max_size),
        }

    def queue_result(self, result: str, queue_sid: str, waited: float) -> dict[str, str]:
        """An ``<Enqueue>`` action: why and after how long the caller left the queue."""
        return {
            **self.call("in-progress"),
            "QueueResult": result,
            "QueueSid": queue_sid,
            "QueueTime": str(round(waited)),
        }

    def status(self, status: str, duration: int, at: datetime) -> dict[str, str]:
        """The status callback of the call's end (the only event of an inbound call).

        Args:
            status: The final ``CallStatus``.
            duration: Seconds the answered call lasted (0 when never answered).
            at: When the call ended (timezone-aware).

        """
        return self.progress(status, 0, at, duration)

    def progress(
        self, status: str, sequence: int, at: datetime, duration: int | None = None
    ) -> dict[str, str]:
        """A status callback of a call progress event.

        Args:
            status: ``CallStatus``: ``initiated``, ``ringing``, ``in-progress`` (the
                ``answered`` event) or the final status (the ``completed`` event).
            sequence: ``SequenceNumber``: callbacks sent before this one for the call.
            at: When it happened (timezone-aware).
            duration: Seconds the call was answered, sent with the final status only.

        """
        form = {
            **self.call(status),
            "SequenceNumber": str(sequence),
            "Timestamp": format_datetime(at),
            "CallbackSource": CALLBACK_SOURCE,
        }
        if duration is not None:
            form["CallDuration"] = str(duration)
            form["Duration"] = str(math.ceil(duration / 60))
        return form
