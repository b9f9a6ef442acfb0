"""``<Enqueue>``: the caller waits in a queue until the server or the scenario ends the wait.

The caller waits ``queue_seconds`` of simulated time. Meanwhile the ``waitUrl`` document runs
and, when it ends, is requested again, as Twilio does; ``<Leave>`` and ``<Hangup>`` in it end
the wait at once. Then the scenario's ``queue_result`` happens: the caller hangs up, an agent
answers (``bridged``; the agent hangs up ``bridged_seconds`` later), or the call is taken
out of the queue (``leave``). The ``action`` URL then gets ``QueueResult``; after a hang-up
its answer is checked but ignored, since the call is over.

On a simulated network the caller is a real member of the named queue (created on demand, as
``<Enqueue>`` does): the waitUrl requests carry its real position and the queue's size, a full
queue answers ``queue-full`` at once, and with ``time_scale`` the hold documents take real
time. A REST dequeue (``Queues/{sid}/Members/{CallSid}`` with ``Url``) or call redirect ends
the wait at once with ``QueueResult=redirected``. Twilio's ``<Enqueue>`` page: "In the case
where a call is dequeued due to a REST API request or the <Leave> verb, the action URL is
requested right away"; and its Queue Member resource dequeues a member "and ha[s] the member's
call begin executing the TwiML document at that URL". So the action is requested (its answer
checked), then the call runs the REST URL's TwiML, not the action's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from telephony.simulator.flow import CallFlow, End, GoTo, Transition
from telephony.simulator.live_call import HangUpNow, RedirectTo
from telephony.simulator.network import CallQueue
from telephony.simulator.scenario import new_sid
from telephony.simulator.transcript import Enqueued, Heard, HungUp
from telephony.simulator.twilio_forms import DEFAULT_MAX_QUEUE_SIZE, QueuePlace
from telephony.simulator.twilio_http import FetchedDocument
from telephony.simulator.twiml_rules import TwimlNode


@dataclass(frozen=True)
class QueueExit:
    """Why the caller left the queue (``QueueResult``).

    Attributes:
        result: ``QueueResult``.
        end: Set when the call is over.
        then: The REST redirect the call follows next.

    """

    result: str
    end: End | None = None
    then: RedirectTo | None = None


@dataclass(frozen=True)
class _Waiting:
    """The wait in progress: where, since when, in which queue of the network (if any)."""

    queue_sid: str
    started: float
    max_size: int
    queue: CallQueue | None


async def enqueue(call: CallFlow, verb: TwimlNode, base: str) -> Transition | None:
    """Run an ``<Enqueue>``: wait, report ``QueueResult`` to the action, go on.

    Args:
        call: The running call.
        verb: The ``<Enqueue>`` element.
        base: The URL of its document, for relative URLs.

    Returns:
        The action's answer to run, the end of the call, or None for the next verb.

    """
    name = verb.text or verb.get("workflowSid") or ""
    waiting = _Waiting(
        queue_sid=call.queue_sids.setdefault(name, new_sid("QU")),
        started=call.elapsed,
        max_size=int(verb.get("maxQueueSize") or DEFAULT_MAX_QUEUE_SIZE),
        queue=None,
    )
    exit_ = await _wait_as_member(call, verb, base, name, waiting)
    waited = call.elapsed - waiting.started
    call.record(Enqueued(name, exit_.result, round(waited)))
    if exit_.result == "bridged":
        call.elapsed += call.config.bridged_seconds
    action = verb.get("action")
    fetched = None
    if action is not None:
        form = call.forms.queue_result(exit_.result, call.queue_sids[name], waited)
        url = urljoin(base, action)
        fetched = await call.fetch(verb.get("method") or "POST", url, form, "enqueue action")
    if exit_.then is not None:
        return await call.obey(exit_.then)
    if exit_.end is not None or fetched is None:
        return exit_.end
    return GoTo(fetched)


async def _wait_as_member(
    call: CallFlow, verb: TwimlNode, base: str, name: str, waiting: _Waiting
) -> QueueExit:
    """Wait, as a member of the network's queue when the call is on a network."""
    if call.network is None or call.live is None:
        return await _wait(call, verb, base, waiting)
    live, network = call.live, call.network
    queue = network.queue(name, waiting.max_size)
    call.queue_sids[name] = queue.sid
    waiting = _Waiting(queue.sid, waiting.started, queue.max_size, queue)
    if not await network.enqueue(queue, live, lambda: call.elapsed - waiting.started):
        return QueueExit("queue-full")
    try:
        return await _wait(call, verb, base, waiting)
    finally:
        await network.dequeue(queue, live)


async def _wait(call: CallFlow, verb: TwimlNode, base: str, waiting: _Waiting) -> QueueExit:
    wait_url = verb.get("waitUrl")
    if wait_url is None:
        await _hold_to_the_end(call, waiting.started)  # Twilio's own hold music
        return _exit_now(call)
    url = urljoin(base, wait_url)
    method = verb.get("waitUrlMethod") or "POST"
    while True:
        waited = call.elapsed - waiting.started
        form = call.forms.queue_wait(
            waiting.queue_sid, waited, waiting.max_size, _place(call, waiting)
        )
        fetched = await call.fetch(method, url, form, "wait url", wait_url=True)
        exit_ = await _run_wait_documents(call, fetched, waiting.started)
        if exit_ is not None:
            return exit_
        # The wait document ran to its end: Twilio requests the waitUrl again.


def _place(call: CallFlow, waiting: _Waiting) -> QueuePlace | None:
    if waiting.queue is None or call.live is None:
        return None
    position = waiting.queue.position(call.live.sid) or len(waiting.queue.members)
    return QueuePlace(
        position=position,
        size=len(waiting.queue.members),
        average_seconds=waiting.queue.average_wait_seconds,
    )


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
        if _interrupted(call) or _wait_is_over(call, started):
            return _exit_now(call)
        outcome = await _run_wait_verb(call, verb, fetched.url, started)
        if outcome is not None:
            return outcome
    return _exit_now(call) if _interrupted(call) or _wait_is_over(call, started) else None


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
                await _hold_to_the_end(call, started)
            else:
                await call.hold(heard.seconds, counted=True)
            return None


async def _hold_to_the_end(call: CallFlow, started: float) -> None:
    """Wait out the rest of ``queue_seconds``, unless a REST command comes first."""
    while not _interrupted(call) and not _wait_is_over(call, started):
        await call.hold(started + call.config.queue_seconds - call.elapsed)


def _interrupted(call: CallFlow) -> bool:
    return call.live is not None and call.live.pending is not None


def _exit_now(call: CallFlow) -> QueueExit:
    """The exit a REST command makes, or else the scenario's."""
    command = call.live.take() if call.live is not None else None
    match command:
        case RedirectTo():
            return QueueExit("redirected", then=command)
        case HangUpNow(status=status):
            return QueueExit("hangup", End(HungUp("server", f"REST API: Status={status}")))
    return _scenario_exit(call)


def _scenario_exit(call: CallFlow) -> QueueExit:
    result = call.config.queue_result
    if result == "hangup":
        reason = f"caller hung up after {call.config.queue_seconds} s in the queue"
        return QueueExit(result, End(HungUp("caller", reason)))
    return QueueExit(result)
