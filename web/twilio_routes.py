"""Twilio voice webhooks: signature check, then one call-service function, then TwiML.

Every webhook answers valid TwiML. A failure inside a call is answered by the call service's
apology and fallback route; if even that fails, by a static apology that needs no database.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Final

from aiohttp import web

from calls.service import CallService, Renderer, UnknownCallError
from config.limits import WEBHOOK_BODY_BYTES
from history.db import HistoryUnavailableError
from ivr import events as ev
from telephony import webhook_form, webhooks
from telephony.signature import is_signed_by_twilio, public_request_url
from web import outage
from web.keys import CALLS, JOURNAL, MENUS, SETTINGS, STORE, VOICE
from web.voice import CallRenderer

log = logging.getLogger(__name__)

TWIML: Final = "text/xml"
TWILIO_PREFIX: Final = "/twilio/"
MEDIA_STREAM_PATH: Final = "/twilio/media"
"""The media websocket is admitted by the signed token in its ``start`` message instead."""
FORM: Final = web.RequestKey("twilio_form", dict[str, str])
ROOM: Final = re.compile(r"vd-[A-Za-z0-9-]{1,64}")
"""Conference rooms the ACD names (``vd-<CallSid>``, ``vd-cb<id>-<attempt>``)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def twilio_signature(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse (403) any ``/twilio/`` request not signed by Twilio; nothing is recorded."""
    if not request.path.startswith(TWILIO_PREFIX) or request.path == MEDIA_STREAM_PATH:
        return await handler(request)
    settings = request.app[SETTINGS]
    form = await _form(request)
    url = public_request_url(settings.public_url, request.raw_path)
    token = settings.twilio_auth_token.get_secret_value()
    if not is_signed_by_twilio(token, url, form, request.headers.get("X-Twilio-Signature")):
        log.warning("refused unsigned or forged webhook %s %r", request.method, request.path)
        raise web.HTTPForbidden(text="invalid or missing X-Twilio-Signature")
    request[FORM] = form
    return await handler(request)


async def voice(request: web.Request) -> web.Response:
    """Incoming call: open the call and run the menu to its first wait."""
    form = request[FORM]
    identity = webhooks.call_identity(form)
    if identity is None:
        return await static_apology(request, "incoming call without CallSid/From")
    calls = request.app[CALLS]
    return await answer_with(
        request,
        identity.call_sid,
        lambda render: calls.start(identity.call_sid, identity.caller, identity.called, render),
    )


async def gather(request: web.Request) -> web.Response:
    """Gather action: the caller pressed keys (or nothing)."""
    return await _advance(request, webhooks.digits_entered)


async def no_input(request: web.Request) -> web.Response:
    """Redirect after a Gather that timed out."""
    return await _advance(request, lambda _form, at: ev.NoInput(at=at))


async def dial(request: web.Request) -> web.Response:
    """Dial action: the transfer leg ended."""
    return await _advance(request, webhooks.transfer_ended)


async def queue(request: web.Request) -> web.Response:
    """Enqueue action: the caller left the queue (QueueResult)."""
    return await _advance(request, webhooks.queue_result)


async def queue_wait(request: web.Request) -> web.Response:
    """``waitUrl`` of an Enqueue: the next hold document (position, expected wait, offer)."""
    form = request[FORM]
    store = request.app[STORE]
    now = request.app[CALLS].clock()
    try:
        line = await store.line_position(form.get("CallSid", ""), now)
    except HistoryUnavailableError:
        line = None  # the announcement says "please hold" rather than nothing at all
    minutes = None
    if line is not None and line.expected_seconds is not None:
        minutes = math.ceil(line.expected_seconds / 60)
    waited = webhooks.queue_time(form)
    position = None if line is None else line.position
    return await _advance(request, lambda _form, at: ev.QueueWaited(at, waited, position, minutes))


async def queue_connect(request: web.Request) -> web.Response:
    """Where an agent's answer sends a waiting caller (Queue Members REST): the agent's room."""
    room = request.query.get("room", "")
    if not ROOM.fullmatch(room):
        return await static_apology(request, f"queue connect with a bad room {room!r}")
    return await _advance(request, lambda _form, at: ev.AgentReady(at, room))


async def agent_ended(request: web.Request) -> web.Response:
    """Action of the caller's Dial into the agent's room: the conversation is over."""
    return await _advance(request, webhooks.agent_call_ended)


async def stream_ended(request: web.Request) -> web.Response:
    """Connect action: the media stream closed.

    A session that answered the wait has already stepped the call (the turn is stale, so the
    stored TwiML it rendered is replayed). A stream that closed without an answer (refused
    token, capacity race, a crash) leaves the wait open: it is asked again on the keypad.
    """
    return await _advance(
        request, lambda _form, at: ev.SpeechUnavailable(at, "media stream closed without an answer")
    )


async def status(request: web.Request) -> web.Response:
    """Status callback: record it once (CallSid + SequenceNumber + status); end the call."""
    form = request[FORM]
    report = webhooks.status_report(form)
    if report is None:
        raise web.HTTPBadRequest(text="status callback without CallSid/CallStatus")
    entry = outage.status_entry(
        report.call_sid,
        report.status,
        report.sequence,
        report.duration_seconds,
        report.is_final,
        request.app[CALLS].clock(),
    )
    try:
        # Written now, or journaled (database down) and replayed in order when it is back.
        known = await request.app[JOURNAL].submit(outage.CALL_STATUS, entry)
    except Exception:  # last line of defence: never a 500 to Twilio; the log keeps the report
        log.exception("status callback could not be recorded: %s", sorted(form.items()))
        return web.Response(status=204)
    if known is False:
        log.info("status callback for unknown call %r", report.call_sid)
    return web.Response(status=204)


def routes() -> list[web.RouteDef]:
    """The webhook routes Twilio is configured with."""
    return [
        web.post("/twilio/voice", voice),
        web.post("/twilio/gather", gather),
        web.post("/twilio/no-input", no_input),
        web.post("/twilio/dial", dial),
        web.post("/twilio/queue", queue),
        web.post("/twilio/queue/wait", queue_wait),
        web.post("/twilio/queue/connect", queue_connect),
        web.post("/twilio/agent-ended", agent_ended),
        web.post("/twilio/stream-ended", stream_ended),
        web.post("/twilio/status", status),
    ]


EventParser = Callable[[Mapping[str, str], datetime], ev.Event]


async def _advance(request: web.Request, parse: EventParser) -> web.Response:
    form = request[FORM]
    call_sid = form.get("CallSid", "")
    if not call_sid:
        return await static_apology(request, "webhook without CallSid")
    calls = request.app[CALLS]
    turn = webhooks.turn_of(request.query)
    event = parse(form, calls.clock())
    return await answer_with(
        request, call_sid, lambda render: calls.advance(call_sid, event, turn, render)
    )


async def answer_with(
    request: web.Request, call_sid: str, turn: Callable[[Renderer], Awaitable[str]]
) -> web.Response:
    """Run one turn of ``call_sid`` and answer its TwiML; on failure, apologise and route on.

    While the database is down (or the journal still holds writes of this call) the call gets
    the menu's outage route instead, computed without the database (``web.outage``).
    """
    calls: CallService = request.app[CALLS]
    if request.app[JOURNAL].holds(call_sid):
        return twiml_response(await outage.outage_answer(request, call_sid, request[FORM]))
    render = request.app[VOICE].for_call(call_sid)
    try:
        body = await turn(render)
    except UnknownCallError:  # not a failure of ours: one line, no trace, nothing to route
        return await static_apology(request, f"unknown call {call_sid!r} in {request.path!r}")
    except HistoryUnavailableError as err:
        log.warning(
            "call %s: database unavailable in %r: outage route (%s)", call_sid, request.path, err
        )
        return twiml_response(await outage.outage_answer(request, call_sid, request[FORM]))
    except Exception as err:  # last line of defence: Twilio must get TwiML, never a 500
        log.exception("call %s: webhook %r failed", call_sid, request.path)
        reason = f"{type(err).__name__} in {request.path}"
    else:
        await _note_keypad_fallback(request, call_sid, render)
        return twiml_response(body)
    try:
        return twiml_response(await calls.fail(call_sid, reason, render))
    except HistoryUnavailableError:
        return twiml_response(await outage.outage_answer(request, call_sid, request[FORM]))
    except Exception:  # the call cannot even be routed: apologise without the database
        log.exception("call %s: could not route to fallback", call_sid)
        return await static_apology(request, reason)


async def _note_keypad_fallback(request: web.Request, call_sid: str, render: CallRenderer) -> None:
    if render.keypad_fallback is None:
        return
    listen, reason = render.keypad_fallback
    entry = outage.note_entry(
        call_sid,
        "speech_capacity_fallback",
        {"node": listen.node, "turn": listen.turn, "reason": reason},
        f"keypad:{listen.turn}",
        request.app[CALLS].clock(),
    )
    try:
        await request.app[JOURNAL].submit(outage.CALL_NOTE, entry)
    except Exception:  # the caller already has their keypad menu; losing this note is logged
        log.exception("call %s: could not record the keypad fallback", call_sid)


async def static_apology(request: web.Request, reason: str) -> web.Response:
    """The last-resort apology, which needs no database."""
    log.warning("answering static apology: %s", reason)
    try:
        menu = request.app[MENUS].published
    except LookupError:
        menu = None
    return twiml_response(await request.app[VOICE].apology(menu))


async def _form(request: web.Request) -> dict[str, str]:
    """The webhook's form, bounded (see ``telephony.webhook_form``); 413 or 400 otherwise."""
    if request.method != "POST":
        return {}
    try:
        webhook_form.check_size(request.content_length)
        # A chunked body is cut at the app's client_max_size by aiohttp (413) while read.
        return webhook_form.parse_form(await request.read(), request.content_type)
    except webhook_form.WebhookBodyTooLargeError as err:
        raise web.HTTPRequestEntityTooLarge(
            WEBHOOK_BODY_BYTES, request.content_length or 0, text=str(err)
        ) from err
    except webhook_form.WebhookBodyError as err:
        raise web.HTTPBadRequest(text=str(err)) from err


def twiml_response(body: str) -> web.Response:
    """``body`` as a TwiML response."""
    return web.Response(text=body, content_type=TWIML, charset="utf-8")
