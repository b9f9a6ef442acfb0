"""Agents' and callbacks' webhooks, and the dispatcher, dialer and timer every instance runs.

Every instance may run them: they share the work through the database (`agents.dispatch`,
`callbacks.claim`), so adding an instance adds capacity and never a second dial.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiohttp import web

from agents.acd import Acd, AcdConfig, WaitingCall
from agents.dispatch import CALL
from callbacks.confirmations import Confirmation, ConfirmationSender
from callbacks.dialer import FINAL_CALL_STATUSES, CallbackDialer, DialerConfig
from callbacks.policy import RetryPolicy
from callbacks.timer import CallbackTimer
from config.menu import CallbackNode, Schedule
from config.messages import SLOT_PLACEHOLDER, MessageKey
from ivr.slots import spoken_slot
from ivr.state import PHASE_QUEUED, CallState
from telephony import webhooks
from telephony.fields import whole_number
from telephony.rest import TwilioRest
from web.keys import ACD, CALLS, DIALER, INSTANCE, MENUS, SETTINGS, STORE, VOICE
from web.twilio_routes import FORM, answer_with, static_apology, twiml_response

log = logging.getLogger(__name__)

AGENT_FIRST: Final = "agent_first"


async def contacts(app: web.Application) -> AsyncIterator[None]:
    """Open the REST client, the ACD and the callback dialer, and run their timer."""
    settings = app[SETTINGS]
    store = app[STORE]
    rest = TwilioRest(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        api_base=settings.twilio_api_base,
    )
    instance = app[INSTANCE]
    clock = app[CALLS].clock
    agent_first = settings.callback_mode == AGENT_FIRST
    dialer = CallbackDialer(
        store.database,
        rest,
        DialerConfig(
            instance=instance,
            public_url=settings.public_url,
            caller_id=settings.twilio_caller_id,
            policy=RetryPolicy(max_attempts=settings.callback_max_attempts),
            reconcile_after=timedelta(seconds=settings.callback_reconcile_after_seconds),
            status_check_after=timedelta(seconds=settings.callback_status_check_after_seconds),
        ),
        hours_of=_hours_of(app),
        clock=clock,
    )
    acd = Acd(
        store.database,
        rest,
        AcdConfig(
            instance=instance,
            public_url=settings.public_url,
            caller_id=settings.twilio_caller_id,
            callbacks=agent_first,
            wrap_up=timedelta(seconds=settings.agent_wrap_up_seconds),
        ),
        waiting_call=_waiting_call(app),
        refused=dialer.refused,
        clock=clock,
    )
    texts = ConfirmationSender(
        store.database,
        rest,
        text_of=_confirmation_text(app),
        caller_id=settings.twilio_caller_id,
        clock=clock,
    )
    app[ACD], app[DIALER] = acd, dialer

    async def tick() -> bool:
        more = await acd.dispatch()
        if not agent_first:
            more = await dialer.dial_due() or more
        await texts.send_pending()
        return more

    timer = CallbackTimer(tick, dialer.reconcile)
    if settings.callbacks_enabled:
        timer.start()
    yield
    timer.stop()
    await rest.close()


async def agent_answer(request: web.Request) -> web.Response:
    """An agent picked up an assignment: whisper, then the contact's conference room."""
    agent_id, label = _assignment(request)
    menu = request.app[MENUS].published
    language = menu.default_language
    try:
        leg = await request.app[ACD].agent_answered(
            agent_id, label, request[FORM].get("CallSid", "")
        )
        room, kind = leg.room, leg.kind
    except Exception:  # the agent must hear something, never a 500
        log.exception("agent %d: answering %s failed", agent_id, label)
        room, kind = None, ""
    if room is None:
        key = MessageKey.AGENT_CONTACT_GONE
    else:
        key = MessageKey.AGENT_WHISPER_CALL if kind == CALL else MessageKey.AGENT_WHISPER_CALLBACK
    text = menu.messages[key][language]
    return twiml_response(await request.app[VOICE].agent_leg(text, language, room))


async def agent_status(request: web.Request) -> web.Response:
    """Status callback of an agent's leg: its end frees the agent (or puts the contact back)."""
    agent_id, label = _assignment(request)
    status = request[FORM].get("CallStatus", "")
    if status in FINAL_CALL_STATUSES:
        try:
            await request.app[ACD].agent_leg_ended(agent_id, label, status)
        except Exception:  # Twilio needs no answer; the log keeps what was missed
            log.exception("agent %d: leg status %s for %s not applied", agent_id, status, label)
    return web.Response(status=204)


async def callback_answer(request: web.Request) -> web.Response:
    """The customer answered our callback call: greeting, then the agent or the line."""
    callback_id, attempt = _callback_attempt(request)
    call_sid = request[FORM].get("CallSid", "")
    if not call_sid:
        return await static_apology(request, "callback answer without CallSid")
    agent_first = request.app[SETTINGS].callback_mode == AGENT_FIRST
    room = f"vd-cb{callback_id}-{attempt}" if agent_first else None
    calls = request.app[CALLS]
    response = await answer_with(
        request,
        call_sid,
        lambda render: calls.answer_callback(call_sid, callback_id, room, render),
    )
    if agent_first:
        try:
            await request.app[ACD].callback_connected(callback_id, attempt)
        except Exception:  # the customer is already on the way to the room
            log.exception("callback %d: connection not recorded", callback_id)
    return response


async def callback_status(request: web.Request) -> web.Response:
    """Status callback of a callback call: drives retries; a miss frees the waiting agent."""
    callback_id, attempt = _callback_attempt(request)
    form = request[FORM]
    report = webhooks.status_report(form)
    if report is None:
        raise web.HTTPBadRequest(text="status callback without CallSid/CallStatus")
    try:
        await request.app[DIALER].on_status(callback_id, attempt, report.call_sid, report.status)
        if report.is_final:
            await request.app[CALLS].report_status(
                report.call_sid, report.status, report.sequence, report.duration_seconds, True
            )
        unreached = report.is_final and report.status != "completed"
        if unreached and request.app[SETTINGS].callback_mode == AGENT_FIRST:
            await request.app[ACD].customer_unreached(callback_id, attempt)
    except Exception:  # never a 500 to Twilio; the reconciler catches what was missed
        log.exception("callback %d: status %s not applied", callback_id, report.status)
    return web.Response(status=204)


def routes() -> list[web.RouteDef]:
    """The agents' and callbacks' webhooks."""
    return [
        web.post("/twilio/agents/answer", agent_answer),
        web.post("/twilio/agents/status", agent_status),
        web.post("/twilio/callbacks/answer", callback_answer),
        web.post("/twilio/callbacks/status", callback_status),
    ]


def _assignment(request: web.Request) -> tuple[int, str]:
    agent, label = whole_number(request.query.get("agent")), request.query.get("contact", "")
    if agent is None or not label:
        raise web.HTTPBadRequest(text="agent and contact are required")
    return agent, label


def _callback_attempt(request: web.Request) -> tuple[int, int]:
    callback = whole_number(request.query.get("callback"))
    attempt = whole_number(request.query.get("attempt"))
    if callback is None or attempt is None:
        raise web.HTTPBadRequest(text="callback and attempt are required")
    return callback, attempt


def _waiting_call(app: web.Application) -> Callable[[str], Awaitable[WaitingCall | None]]:
    async def waiting_call(call_sid: str) -> WaitingCall | None:
        record = await app[STORE].get_call(call_sid)
        if record is None or record.ended:
            return None
        state = CallState.from_dict(record.state)
        return WaitingCall(state.turn, state.called) if state.phase == PHASE_QUEUED else None

    return waiting_call


def _confirmation_text(app: web.Application) -> Callable[[Confirmation], Awaitable[str]]:
    """The SMS confirming a request: its menu's text, a booked slot said on the menu's clock."""

    async def text_of(confirmation: Confirmation) -> str:
        menu = await app[MENUS].pinned(confirmation.menu_checksum)
        language = confirmation.language
        if confirmation.kind != "scheduled":
            return menu.messages[MessageKey.SMS_CALLBACK_QUEUED][language]
        node = menu.nodes.get(confirmation.node)
        zone = menu.schedules[node.schedule].timezone if isinstance(node, CallbackNode) else "UTC"
        start = confirmation.due_at.astimezone(ZoneInfo(zone))
        slot = spoken_slot(start, language, app[CALLS].clock())
        text = menu.messages[MessageKey.SMS_CALLBACK_BOOKED][language]
        return text.replace(SLOT_PLACEHOLDER, slot)

    return text_of


def _hours_of(app: web.Application) -> Callable[[str, str], Awaitable[Schedule | None]]:
    """A callback may be dialled when its node's schedule is open.

    A ``callback`` node names its schedule; a queue's callback follows the menu's only schedule
    when it has exactly one (the usual case), else any time.
    """

    async def hours_of(checksum: str, node_id: str) -> Schedule | None:
        menu = await app[MENUS].pinned(checksum)
        node = menu.nodes.get(node_id)
        if isinstance(node, CallbackNode):
            return menu.schedules[node.schedule]
        if len(menu.schedules) == 1:
            return next(iter(menu.schedules.values()))
        return None

    return hours_of
