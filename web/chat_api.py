"""The chat API for integrations, and customers' texts from Twilio.

- ``/api/chats…`` — list, read, take, write and close chats, behind API keys (see SECURITY.md).
- ``POST /twilio/sms`` — a customer's text (the SMS bridge); ``POST /twilio/conversations`` —
  a customer's message in a Twilio Conversation. Both are signed by Twilio like every
  ``/twilio/`` request (the middleware refuses others).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse

from chat.conversations import inbound_of
from chat.service import ChatService, InboundText, TextResult
from chat.sessions import ChatError, ChatInfo
from config.messages import MessageKey
from telephony.fields import whole_number
from web import outage
from web.api import AGENT, ROLE
from web.chat_views import (
    CLOSED_SHOWN,
    MANAGERS,
    agent_chat,
    agent_info,
    as_int,
    client_id_of,
)
from web.keys import CHATS, CLOCK, JOURNAL, MENUS, SETTINGS
from web.twilio_routes import FORM

log = logging.getLogger(__name__)


# -- the API ---------------------------------------------------------------------------------


async def list_chats(request: web.Request) -> web.Response:
    """``GET /api/chats``: an agent's waiting and own chats; every open chat for managers."""
    service: ChatService = request.app[CHATS]
    if request[ROLE] == "agent":
        agent_id = _agent_of(request)
        agent = await agent_info(request, agent_id)
        queues = [] if agent is None else agent["queues"]
        listed = await service.listing(queues=queues, agent_id=agent_id, closed=CLOSED_SHOWN)
    else:
        listed = await service.listing(queues=None, agent_id=None)
    return web.json_response({"chats": [agent_chat(request, chat) for chat in listed]})


async def chat_messages(request: web.Request) -> web.Response:
    """``GET /api/chats/{id}/messages?after=N``."""
    after = whole_number(request.query.get("after") or "0")
    if after is None:
        raise _error(400, "after must be a message id (digits)")
    chat = await _visible_chat(request)
    messages = await request.app[CHATS].messages_after(chat.id, after)
    return web.json_response({"messages": [m.to_json() for m in messages]})


async def take_chat(request: web.Request) -> web.Response:
    """``POST /api/chats/{id}/take`` (an agent's key)."""
    agent_id = _agent_of(request)
    chat = await _chat_call(request.app[CHATS].take(_chat_id(request), agent_id))
    return web.json_response(agent_chat(request, chat))


async def post_message(request: web.Request) -> web.Response:
    """``POST /api/chats/{id}/messages`` with ``{"body", "client_id"}`` (an agent's key)."""
    agent_id = _agent_of(request)
    data = await _body(request)
    message = await _chat_call(
        request.app[CHATS].post_agent(
            _chat_id(request), agent_id, str(data.get("body", "")), client_id=client_id_of(data)
        )
    )
    return web.json_response(message.to_json(), status=201)


async def close_chat(request: web.Request) -> web.Response:
    """``POST /api/chats/{id}/close`` with ``{"outcome"}``: an agent's own, or any (managers)."""
    agent_id = None if request[ROLE] in MANAGERS else _agent_of(request)
    data = await _body(request)
    chat = await _chat_call(
        request.app[CHATS].close(_chat_id(request), agent_id, str(data.get("outcome", "")))
    )
    return web.json_response(agent_chat(request, chat))


async def _visible_chat(request: web.Request) -> ChatInfo:
    chat = await request.app[CHATS].chat(_chat_id(request))
    if chat is None:
        raise _error(404, "no such chat")
    if request[ROLE] == "agent":
        if chat.agent_id is not None and chat.agent_id != request[AGENT]:
            raise _error(403, "this chat is another agent's")
        agent = await agent_info(request, _agent_of(request))
        if chat.agent_id is None and (agent is None or chat.queue not in agent["queues"]):
            raise _error(403, "this chat waits in a queue you do not serve")
    return chat


async def _chat_call(call: Any) -> Any:
    try:
        return await call
    except ChatError as err:
        raise _error(err.status, str(err)) from err


def _agent_of(request: web.Request) -> int:
    agent_id = request[AGENT]
    if request[ROLE] != "agent" or agent_id is None:
        raise _error(403, "only an agent's API key may do this")
    return agent_id


def _chat_id(request: web.Request) -> int:
    chat_id = as_int(request.match_info["chat_id"])
    if not 0 < chat_id < 2**31:
        raise _error(404, "no such chat")
    return chat_id


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _error(400, "the body must be a JSON object") from err
    if not isinstance(data, dict):
        raise _error(400, "the body must be a JSON object")
    return data


def _error(status: int, message: str) -> web.HTTPException:
    kind = _STATUS.get(status, web.HTTPBadRequest)
    return kind(text=json.dumps({"error": message}), content_type="application/json")


_STATUS: Final[dict[int, type[web.HTTPException]]] = {
    400: web.HTTPBadRequest,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    500: web.HTTPInternalServerError,
}


# -- texts -----------------------------------------------------------------------------------


async def inbound_sms(request: web.Request) -> web.Response:
    """A customer's text: into their open chat, or a new one for a known customer."""
    form = request[FORM]
    text = InboundText(
        message_sid=form.get("MessageSid") or form.get("SmsSid", ""),
        from_=form.get("From", ""),
        to=form.get("To", ""),
        body=form.get("Body", ""),
    )
    reply = MessagingResponse()
    if not text.message_sid:
        raise web.HTTPBadRequest(text="an inbound text needs a MessageSid")
    entry = outage.text_entry(text, "sms", request.app[CLOCK]())
    try:
        # Written now, or journaled (database down) and replayed in order when it is back.
        result = await request.app[JOURNAL].submit(outage.INBOUND_TEXT, entry)
    except Exception:  # Twilio gets an answer; the text stays in Twilio's log
        log.exception("inbound text %r not recorded", text.message_sid)
        return _twiml(reply)
    if isinstance(result, TextResult) and result.chat is None:
        log.info("text %s from an unknown number: no chat started", text.message_sid)
        menu = request.app[MENUS].published
        reply.message(menu.messages[MessageKey.CHAT_UNAVAILABLE][menu.default_language])
    return _twiml(reply)


async def inbound_conversation(request: web.Request) -> web.Response:
    """A Conversations post-event webhook: a customer's message joins their chat."""
    form: dict[str, str] = request[FORM]
    text = inbound_of(form)
    if text is None or text.account_sid != request.app[SETTINGS].twilio_account_sid:
        return web.Response(status=200)  # another event, or our own message echoed back
    entry = outage.text_entry(text.as_inbound(), "conversations", request.app[CLOCK]())
    try:
        await request.app[JOURNAL].submit(outage.INBOUND_TEXT, entry)
    except Exception:  # Twilio only logs an error answer; the message stays in the Conversation
        log.exception("conversation message %r not recorded", text.message_sid)
    return web.Response(status=200)


def _twiml(reply: MessagingResponse) -> web.Response:
    return web.Response(text=str(reply), content_type="application/xml", charset="utf-8")


def routes() -> list[web.RouteDef]:
    """The chat API and the webhooks of customers' texts."""
    return [
        web.get("/api/chats", list_chats),
        web.get("/api/chats/{chat_id}/messages", chat_messages),
        web.post("/api/chats/{chat_id}/take", take_chat),
        web.post("/api/chats/{chat_id}/messages", post_message),
        web.post("/api/chats/{chat_id}/close", close_chat),
        web.post("/twilio/sms", inbound_sms),
        web.post("/twilio/conversations", inbound_conversation),
    ]
