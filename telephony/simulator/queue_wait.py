"""``<Enqueue>``: the caller waits in a queue until the server or the scenario ends the wait.

The caller waits ``queue_seconds`` of simulated time. Meanwhile the ``waitUrl`` document runs
and, when it ends, is requested again, as Twilio does; ``<Leave>`` and ``<Hangup>`` in it end
the wait at once. Then the scenario's ``queue_result`` happens: the caller hangs up, an agent
answers (``bridged``; the agent hangs up ``bridged_seconds`` later), or the call is taken
out of the queue (``leave``). The ``action`` URL then gets ``QueueResult``; after a hang-up
its answer is checked but ignored, since the call is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from telephony.simulator.flow import CallFlow, End, GoTo, Transition
from telephony.simulator.scenario import new_sid
from telephony.simulator.transcript import Enqueued, Heard, HungUp
from telephony.simulator.twilio_forms import DEFAULT_MAX_QUEUE_SIZE
from telephony.simulator.twilio_http import FetchedDocument
from telephony.simulator.twiml_rules import TwimlNode


@dataclass(frozen=True)
class QueueExit:
    """Why the caller left the queue (``QueueResult``); ``end`` is set when the call is over."""

    result: str
    end: End | None = None


async def enqueue(call: CallFlow, verb: TwimlNode, base: str) -> Transition | None:
    """Run an ``<Enqueue>``: wait, report ``QueueResult`` to the action, go on.

    Args:
        call: The running call.
        verb: The ``<Enqueue>`` element.
        base: The URL of its document, for relative URLs.

    Returns:
        The action's answer to run, the end of the call, or None for the next verb.

    """
    queue = verb.text or verb.get("workflowSid") or ""
    queue_sid = call.queue_sids.setdefault(queue, new_sid("QU"))
    started = call.elapsed
    exit_ = await _wait(call, verb, base, queue_sid)
    waited = call.elapsed - started
    call.record(Enqueued(queue, exit_.result, round(waited)))
    if exit_.result == "bridged":
        call.elapsed += call.config.bridged_seconds
    action = verb.get("action")
    if action is None:
        return exit_.end
    form = call.forms.queue_result(exit_.result, queue_sid, waited)
    url = urljoin(base, action)
    fetched = await call.fetch(verb.get("method") or "POST", url, form, "enqueue action")
    return exit_.end or GoTo(fetched)


async def _wait(call: CallFlow, verb: TwimlNode, base: str, queue_sid: str) -> QueueExit:
    started = call.elapsed
    wait_url = verb.get("waitUrl")
    if wait_url is None:
        call.elapsed += call.config.queue_seconds  # Twilio's own hold music
        return _scenario_exit(call)
    url = urljoin(base, wait_url)
    method = verb.get("waitUrlMethod") or "POST"
    max_size = int(verb.get("maxQueueSize") or DEFAULT_MAX_QUEUE_SIZE)
    while True:
        form = call.forms.queue_wait(queue_sid, call.elapsed - started, max_size)
        fetched = await call.fetch(method, url, form, "wait url", wait_url=True)
        exit_ = await _run_wait_documents(call, fetched, started)
        if exit_ is not None:
            return exit_
        # The wait document ran to its end: Twilio requests the waitUrl again.


async def _run_wait_documents(
    call: CallFlow, fetched: FetchedDocument, started: float
) -> QueueExit | None:
    """Run a wait document, and those it hands on to, until one ends or the wait does."""
    while True:
        outcome = await _run_wait_document(call, fetched, started)
        if not isinstance(outcome, GoTo):
            return outcome
        fetched = outcome.fetched


async def _run_wait_document(
    call: CallFlow, fetched: FetchedDocument, started: float
) -> QueueExit | GoTo | None:
    for verb in fetched.document.verbs:
        if _wait_is_over(call, started):
            return _scenario_exit(call)
        outcome = await _run_wait_verb(call, verb, fetched.url, started)
        if outcome is not None:
            return outcome
    return _scenario_exit(call) if _wait_is_over(call, started) else None


def _wait_is_over(call: CallFlow, started: float) -> bool:
    return call.elapsed - started >= call.config.queue_seconds


async def _run_wait_verb(
    call: CallFlow, verb: TwimlNode, base: str, started: float
) -> QueueExit | GoTo | None:
    match verb.name:
        case "Leave":
            return QueueExit("leave")
        case "Hangup":
            return QueueExit("hangup", End(HungUp("server", f"{verb.path}: <Hangup>")))
        case "Redirect":
            return GoTo(await call.redirect(verb, base, in_queue=True))
        case "Gather":
            outcome = await call.gather(verb, base, in_queue=True)
            if isinstance(outcome, End):
                return QueueExit("hangup", outcome)
            return outcome
        case _:
            heard = await call.prompt(verb, base)
            if isinstance(heard, Heard) and heard.loops == 0:
                # Endless hold music plays until the scenario's moment comes.
                call.elapsed = max(call.elapsed, started + call.config.queue_seconds)
            return None


def _scenario_exit(call: CallFlow) -> QueueExit:
    result = call.config.queue_result
    if result == "hangup":
        reason = f"caller hung up after {call.config.queue_seconds} s in the queue"
        return QueueExit(result, End(HungUp("caller", reason)))
    return QueueExit(result)
