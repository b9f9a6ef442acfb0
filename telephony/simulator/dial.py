"""``<Dial>``: a conference room on the simulated network, or a leg the scenario decides.

A ``<Conference>`` noun on a call attached to a :class:`~telephony.simulator.network.Network`
meets the other legs in the room (``telephony.simulator.conference``). Any other ``<Dial>``
(a number, a client, a queue, or a conference without a network) ends as the scenario says:
``dial_status`` after ``dial_duration`` seconds. Without ``action``, "the original caller is
still on the line", so the call goes on with the next verb; with ``action``, its answer runs.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urljoin

from telephony.simulator.conference import dial_conference
from telephony.simulator.flow import CallFlow, GoTo, Transition
from telephony.simulator.scenario import new_sid
from telephony.simulator.transcript import Dialed
from telephony.simulator.twiml_rules import TwimlNode

DIAL_TIMEOUT_DEFAULT: Final = 30
"""Seconds: Twilio's documented default ``<Dial timeout>``."""


async def dial(call: CallFlow, verb: TwimlNode, base: str) -> Transition | None:
    """Run a ``<Dial>``.

    Args:
        call: The running call.
        verb: The ``<Dial>`` element.
        base: The URL of its document, for relative URLs.

    Returns:
        The action's answer, the end of the call, or None for the next verb.

    """
    if call.network is not None and any(c.name == "Conference" for c in verb.children):
        return await dial_conference(call, verb, base)
    status = call.config.dial_status
    duration = call.config.dial_duration if status == "completed" else 0
    ringing = int(verb.get("timeout") or DIAL_TIMEOUT_DEFAULT) if status == "no-answer" else 0
    call.elapsed += duration + ringing
    call.record(Dialed(_target(verb), status, duration))
    action = verb.get("action")
    if action is None:
        return None
    form = call.forms.dial(status, new_sid("CA"), duration)
    url = urljoin(base, action)
    return GoTo(await call.fetch(verb.get("method") or "POST", url, form, "dial action"))


def _target(verb: TwimlNode) -> str:
    if verb.text:
        return verb.text
    return ", ".join(f"{noun.name} {noun.text}".strip() for noun in verb.children)
