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
            "Direction": "inbound",
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

    def dial(self, status: str, dial_call_sid: str, duration: int) -> dict[str, str]:
        """A ``<Dial>`` action: how the dialed leg ended."""
        return {
            **self.call("in-progress"),
            "DialCallStatus": status,
            "DialCallSid": dial_call_sid,
            "DialCallDuration": str(duration),
            "DialBridged": "true" if status == "completed" else "false",
        }

    def queue_wait(self, queue_sid: str, waited: float, max_size: int) -> dict[str, str]:
        """An ``<Enqueue waitUrl>`` request: where the caller is in the queue (alone in it)."""
        return {
            **self.call("in-progress"),
            "QueueSid": queue_sid,
            "QueuePosition": "1",
            "QueueTime": str(round(waited)),
            "AvgQueueTime": "0",
            "CurrentQueueSize": "1",
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
        return {
            **self.call(status),
            "CallDuration": str(duration),
            "Duration": str(math.ceil(duration / 60)),
            "SequenceNumber": "0",
            "Timestamp": format_datetime(at),
            "CallbackSource": CALLBACK_SOURCE,
        }
