"""``<Gather>``: nested prompts play, then the caller answers with the next script entry.

Per Twilio's ``<Gather>`` reference: the finish key ends it and is stripped from ``Digits``;
reaching ``numDigits`` ends it at once. Silence requests nothing and the call goes on with
the verb after ``</Gather>``, unless ``actionOnEmptyResult="true"``. Pressing only the finish
key counts as input and is submitted with empty ``Digits``. A script that runs out at a
Gather means the caller hangs up. Speaking (``say:``, ``play:``) is heard as silence: Twilio
hears no keys in it, and speech recognition in ``<Gather>`` is not simulated (noted).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urljoin

from telephony.simulator.flow import CallFlow, End, GoTo, Transition
from telephony.simulator.keypad import press_keys
from telephony.simulator.script import Keys, PlayAudio, Say, describe_entry, parse_entry
from telephony.simulator.transcript import (
    Gathered,
    GatherPrompt,
    HungUp,
    Noted,
    SimulationError,
)
from telephony.simulator.twiml_rules import TwimlNode

GATHER_TIMEOUT_DEFAULT: Final = 5
"""Seconds: Twilio's documented default ``<Gather timeout>``."""


async def gather(
    call: CallFlow, verb: TwimlNode, base: str, *, in_queue: bool
) -> Transition | None:
    """Run a ``<Gather>``.

    Args:
        call: The running call.
        verb: The ``<Gather>`` element.
        base: The URL of its document, for relative URLs.
        in_queue: It comes from an ``<Enqueue waitUrl>`` document (so does its action's answer).

    Returns:
        The action's answer, the end of the call (the caller hung up), or None for the next
        verb (silence).

    """
    prompts = tuple([await call.prompt(child, base) for child in verb.children])
    prompt = GatherPrompt(
        path=verb.path,
        action_url=urljoin(base, verb.get("action") or base),
        num_digits=int(verb.attributes["numDigits"]) if "numDigits" in verb.attributes else None,
        finish_on_key=verb.get("finishOnKey", "#") or "",
        timeout_seconds=int(verb.get("timeout") or GATHER_TIMEOUT_DEFAULT),
        accepts_dtmf="dtmf" in (verb.get("input") or "dtmf").split(),
        in_queue=in_queue,
        prompts=prompts,
    )
    entry = await call.next_input(prompt)
    if entry is None:
        return End(HungUp("caller", call.hang_up_reason(prompt.path)))
    keys = _keys_at_gather(call, verb, prompt, entry)
    presses = press_keys(keys, num_digits=prompt.num_digits, finish_on_key=prompt.finish_on_key)
    if presses.timed_out:
        call.elapsed += prompt.timeout_seconds
    pressed = bool(presses.digits or presses.finished_on_key)
    submit = pressed or verb.get("actionOnEmptyResult") == "true"
    call.record(
        Gathered(
            digits=presses.digits if keys else None,
            finished_on_key=presses.finished_on_key,
            timeout_seconds=prompt.timeout_seconds,
            timed_out=presses.timed_out,
            submitted=submit,
        )
    )
    if not submit:
        return None
    form = call.forms.gather(presses.digits, presses.finished_on_key)
    method = verb.get("method") or "POST"
    return GoTo(
        await call.fetch(
            method, prompt.action_url, form, purpose="gather action", wait_url=in_queue
        )
    )


def _keys_at_gather(call: CallFlow, verb: TwimlNode, prompt: GatherPrompt, text: str) -> str:
    """The keys Twilio hears at a Gather; speaking into a keypad menu is silence."""
    try:
        entry = parse_entry(text)
    except ValueError as err:
        raise SimulationError(f"{prompt.path}: {err}") from err
    match entry:
        case Keys(keys=keys) if prompt.accepts_dtmf:
            return keys
        case Say() | PlayAudio() if "speech" in (verb.get("input") or "dtmf").split():
            note = "speech recognition in <Gather> is not simulated: heard as silence"
            call.record(Noted("Gather", f"caller answered by {describe_entry(entry)}; {note}"))
        case Say() | PlayAudio():
            note = "a keypad menu hears no keys in speech: silence"
            call.record(Noted("Gather", f"caller answered by {describe_entry(entry)}; {note}"))
    return ""
