"""Chat over the web: the customer's page and socket, the agent console, the chat API, texts.

- ``GET /chat/{token}`` — the customer's page (static; a refusal page for a bad link);
  ``GET /chat/{token}/ws`` — its socket (messages resume after the last id the page saw).
- ``GET /agent`` — the agent console (static); ``GET /agent/ws`` — its socket, which takes the
  agent's API key in its first message (browsers cannot set headers on a websocket).
- ``/api/chats…`` — the same operations for integrations, behind API keys.
- ``POST /twilio/sms`` — a customer's text (signed by Twilio like every ``/twilio/`` request).

Pages get a strict Content-Security-Policy (no inline script, same-origin connections only) and
insert every message as text, so a message can never run as code. The link token is in the
page's path: ``Referrer-Policy: no-referrer`` keeps it from leaking to any other site.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import timedelta
from importlib import resources
from typing import Any, Final

from aiohttp import WSMsgType, web
from twilio.twiml.messaging_response import MessagingResponse

from agents.roster import get_agent
from chat import sessions
from chat.conversations import ConversationsChannel, inbound_of
from chat.feed import ChatFeed
from chat.outbox import ChatChannel, ChatOutbox, LinkText
from chat.service import ChatService, InboundText, customer_view
from chat.sessions import ChatError, ChatInfo, MessageInfo
from chat.sms import SmsChannel
from chat.tokens import LinkProblem, LinkSigner
from chat.topics import topics
from config.messages import LINK_PLACEHOLDER, MessageKey
from telephony.rest import TelephonyRestError, TwilioRest
from web.api import AGENT, ROLE
from web.keys import CLOCK, MENUS, SETTINGS, STORE
from web.twilio_routes import FORM

log = logging.getLogger(__name__)

CHATS: Final = web.AppKey("chats", ChatService)
PAGES: Final[web.AppKey[dict[str, bytes]]] = web.AppKey("chat_pages")
"""The pages' files, read once at start (they ship with the package)."""
OUTBOX_EVERY: Final = 1.0
"""Seconds between looks at the text outboxes when nothing woke them."""
SEEN_EVERY: Final = 10.0
"""Seconds between a customer page's presence notes (well inside chat.sessions.PRESENCE)."""
CLOSED_SHOWN: Final = 5
WS_TRY_AGAIN: Final = 1013
"""Websocket close code "try again later": the page reconnects and resumes."""
"""Recently closed chats an agent's list keeps."""
MANAGERS: Final = frozenset({"admin", "supervisor"})
STATIC_FILES: Final = frozenset({"chat.html", "chat.js", "chat.css", "agent.html", "agent.js"})
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
CONTENT_TYPES: Final = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
}
REFUSALS: Final = {
    LinkProblem.EXPIRED: (
        410,
        "이 채팅 링크는 만료되었습니다",
        "고객센터로 다시 전화하시거나 받으신 문자에 답장해 주세요.",
        "This chat link has expired",
        "Please call us again, or simply reply to the text you received.",
    ),
    LinkProblem.INVALID: (
        403,
        "이 채팅 링크는 사용할 수 없습니다",
        "링크가 잘못되었거나 변경되었습니다. 받으신 문자의 링크를 그대로 열어 주세요.",
        "This chat link is not valid",
        "The link is wrong or was changed. Please open the link exactly as it was texted to you.",
    ),
}


async def chats(app: web.Application) -> AsyncIterator[None]:
    """The chat service, and this instance's sender of chat texts."""
    settings = app[SETTINGS]
    secret = settings.chat_link_secret or settings.twilio_auth_token
    signer = LinkSigner(
        secret.get_secret_value(), timedelta(seconds=settings.chat_link_ttl_seconds)
    )
    menu = app[MENUS].published
    queue = settings.chat_sms_queue or next(iter(menu.queues), None)
    feed = ChatFeed()
    rest = TwilioRest(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        api_base=settings.twilio_api_base,
    )
    database = app[STORE].database

    async def remember(chat_id: int, conversation_sid: str) -> None:
        await database.write(sessions.remember_conversation, chat_id, conversation_sid)

    channel: ChatChannel
    on_closed = None
    if settings.chat_channel == "conversations":
        conversations = ConversationsChannel(rest, settings.twilio_caller_id, remember=remember)
        channel, on_closed = conversations, _closing_conversations(conversations)
    else:
        channel = SmsChannel(rest, settings.twilio_caller_id)
    service = ChatService(
        database,
        signer,
        feed,
        app[CLOCK],
        sms_queue=queue,
        language=menu.default_language,
        on_closed=on_closed,
    )
    app[CHATS] = service
    app[PAGES] = await asyncio.to_thread(_read_pages)
    outbox = ChatOutbox(database, channel, link_body=_link_body(app, service), clock=app[CLOCK])
    sender = asyncio.create_task(_send_texts(outbox, feed))
    yield
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    await rest.close()


def _closing_conversations(
    conversations: ConversationsChannel,
) -> Callable[[ChatInfo], Awaitable[None]]:
    """Close a chat's Conversation with the chat.

    Twilio binds a customer's number to one open Conversation at a time, so an open one would
    block the customer's next chat.
    """

    async def close(chat: ChatInfo) -> None:
        if chat.conversation_sid is None:
            return
        try:
            await conversations.close(chat.conversation_sid)
        except TelephonyRestError as err:  # the chat is closed; Twilio's side can be closed by hand
            log.warning(
                "chat %d: conversation %s not closed: %s", chat.id, chat.conversation_sid, err
            )

    return close


def _link_body(app: web.Application, service: ChatService) -> Callable[[LinkText], Any]:
    async def body(link: LinkText) -> str:
        menu = app[MENUS].published
        language = link.language if link.language in menu.languages else menu.default_language
        url = f"{app[SETTINGS].public_url}/chat/{service.link_token(link.chat_id, link.phone)}"
        return menu.messages[MessageKey.SMS_CHAT_LINK][language].replace(LINK_PLACEHOLDER, url)

    return body


async def _send_texts(outbox: ChatOutbox, feed: ChatFeed) -> None:
    while True:
        try:
            await outbox.send_pending()
        except Exception:  # the outbox is in the database: the next look retries
            log.exception("chat texts not sent")
        await feed.wait()


# -- the customer's page ---------------------------------------------------------------------


async def customer_page(request: web.Request) -> web.Response:
    """The chat page for a genuine link; a clear refusal page otherwise."""
    opened = await request.app[CHATS].open_link(request.match_info["token"])
    if isinstance(opened, LinkProblem):
        return _refusal(opened)
    return _static(request, "chat.html")


async def customer_socket(request: web.Request) -> web.StreamResponse:
    """The customer's live chat: history after the page's last id, then every change."""
    service: ChatService = request.app[CHATS]
    opened = await service.open_link(request.match_info["token"])
    if isinstance(opened, LinkProblem):
        return _refusal(opened)
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hello = await _first_message(ws)
    if hello is None or hello.get("type") != "hello":
        await ws.close(code=4400, message=b"hello expected")
        return ws
    after = _int(hello.get("after"))
    follower = asyncio.create_task(
        _following(ws, _follow_customer(ws, service, opened.id, after, request))
    )
    try:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            data = _json(frame.data)
            if data.get("type") == "send":
                try:
                    await service.post_customer(
                        opened.id, str(data.get("body", "")), client_id=_client_id(data)
                    )
                except ChatError as err:
                    await ws.send_json({"type": "error", "error": str(err)})
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    return ws


async def _follow_customer(
    ws: web.WebSocketResponse, service: ChatService, chat_id: int, after: int, request: web.Request
) -> None:
    shown: dict[str, Any] | None = None
    loop = asyncio.get_running_loop()
    last_seen = 0.0
    while not ws.closed:
        chat = await service.chat(chat_id)
        if chat is None:
            return
        if loop.time() - last_seen >= SEEN_EVERY:
            await service.seen(chat_id)
            last_seen = loop.time()
        view = customer_view(chat, _topics(request, chat))
        if view != shown:
            await ws.send_json({"type": "chat", "chat": view})
            shown = view
        for message in await service.messages_after(chat_id, after):
            await ws.send_json({"type": "message", "message": _customer_message(message)})
            after = message.id
        await service.feed.wait()


def _customer_message(message: MessageInfo) -> dict[str, Any]:
    data = message.to_json()
    data.pop("agent_id", None)  # the customer sees the agent's name on the chat, not ids
    return data


# -- the agent console -----------------------------------------------------------------------


async def agent_page(request: web.Request) -> web.Response:
    """The agent console (it logs in over its socket)."""
    return _static(request, "agent.html")


async def agent_socket(request: web.Request) -> web.StreamResponse:
    """An agent's live console: their chats and messages, and their actions."""
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    auth = await _first_message(ws)
    key = None
    if auth is not None and auth.get("type") == "auth" and isinstance(auth.get("key"), str):
        key = await request.app[STORE].authenticate_api_key(auth["key"], request.app[CLOCK]())
    if key is None or key.role != "agent" or key.agent_id is None:
        await ws.send_json({"type": "error", "error": "an agent's API key is required"})
        await ws.close(code=4401, message=b"unauthorized")
        return ws
    agent = await _agent(request, key.agent_id)
    if agent is None:
        await ws.close(code=4401, message=b"unknown agent")
        return ws
    await ws.send_json({"type": "ready", "agent": agent})
    service: ChatService = request.app[CHATS]
    raw_after = auth.get("after") if auth is not None else None
    after = {int(k): _int(v) for k, v in (raw_after or {}).items() if str(k).isdigit()}
    follower = asyncio.create_task(
        _following(ws, _follow_agent(ws, service, key.agent_id, agent["queues"], after, request))
    )
    try:
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await ws.send_json(await _agent_action(service, key.agent_id, _json(frame.data)))
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    return ws


async def _agent_action(
    service: ChatService, agent_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    action, chat_id = data.get("type"), _int(data.get("chat"))
    result: dict[str, Any] = {"type": "result", "action": action, "chat": chat_id, "ok": True}
    try:
        match action:
            case "take":
                await service.take(chat_id, agent_id)
            case "send":
                await service.post_agent(
                    chat_id, agent_id, str(data.get("body", "")), client_id=_client_id(data)
                )
            case "close":
                await service.close(chat_id, agent_id, str(data.get("outcome", "")))
            case _:
                raise ChatError(f"unknown action {action!r}", 400)
    except ChatError as err:
        result |= {"ok": False, "error": str(err)}
    return result


async def _follow_agent(
    ws: web.WebSocketResponse,
    service: ChatService,
    agent_id: int,
    queues: list[str],
    after: dict[int, int],
    request: web.Request,
) -> None:
    shown: list[dict[str, Any]] | None = None
    while not ws.closed:
        listed = await service.listing(queues=queues, agent_id=agent_id, closed=CLOSED_SHOWN)
        view = [_agent_chat(request, chat) for chat in listed]
        if view != shown:
            # The server's "now" lets the console show waiting times without trusting its clock.
            now = request.app[CLOCK]().isoformat()
            await ws.send_json({"type": "chats", "chats": view, "now": now})
            shown = view
        for chat in listed:
            if chat.last_message_id > after.get(chat.id, 0):
                for message in await service.messages_after(chat.id, after.get(chat.id, 0)):
                    await ws.send_json({"type": "message", "message": message.to_json()})
                    after[chat.id] = message.id
        await service.feed.wait()


async def _agent(request: web.Request, agent_id: int) -> dict[str, Any] | None:
    info = await request.app[STORE].database.read(get_agent, agent_id)
    if info is None:
        return None
    return {"id": info.id, "name": info.name, "queues": list(info.queues)}


def _agent_chat(request: web.Request, chat: ChatInfo) -> dict[str, Any]:
    data = chat.to_json()
    data["context"] = {**chat.context, "topics": _topics(request, chat)}
    return data


def _topics(request: web.Request, chat: ChatInfo) -> list[str]:
    return topics(request.app[MENUS].published, chat.context.get("path", []), chat.language)


# -- the API ---------------------------------------------------------------------------------


async def list_chats(request: web.Request) -> web.Response:
    """``GET /api/chats``: an agent's waiting and own chats; every open chat for managers."""
    service: ChatService = request.app[CHATS]
    if request[ROLE] == "agent":
        agent_id = _agent_of(request)
        agent = await _agent(request, agent_id)
        queues = [] if agent is None else agent["queues"]
        listed = await service.listing(queues=queues, agent_id=agent_id, closed=CLOSED_SHOWN)
    else:
        listed = await service.listing(queues=None, agent_id=None)
    return web.json_response({"chats": [_agent_chat(request, chat) for chat in listed]})


async def chat_messages(request: web.Request) -> web.Response:
    """``GET /api/chats/{id}/messages?after=N``."""
    chat = await _visible_chat(request)
    after = _int(request.query.get("after"))
    messages = await request.app[CHATS].messages_after(chat.id, after)
    return web.json_response({"messages": [m.to_json() for m in messages]})


async def take_chat(request: web.Request) -> web.Response:
    """``POST /api/chats/{id}/take`` (an agent's key)."""
    agent_id = _agent_of(request)
    chat = await _chat_call(request.app[CHATS].take(_chat_id(request), agent_id))
    return web.json_response(_agent_chat(request, chat))


async def post_message(request: web.Request) -> web.Response:
    """``POST /api/chats/{id}/messages`` with ``{"body", "client_id"}`` (an agent's key)."""
    agent_id = _agent_of(request)
    data = await _body(request)
    message = await _chat_call(
        request.app[CHATS].post_agent(
            _chat_id(request), agent_id, str(data.get("body", "")), client_id=_client_id(data)
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
    return web.json_response(_agent_chat(request, chat))


async def _visible_chat(request: web.Request) -> ChatInfo:
    chat = await request.app[CHATS].chat(_chat_id(request))
    if chat is None:
        raise _error(404, "no such chat")
    if request[ROLE] == "agent":
        if chat.agent_id is not None and chat.agent_id != request[AGENT]:
            raise _error(403, "this chat is another agent's")
        agent = await _agent(request, _agent_of(request))
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
    chat_id = _int(request.match_info["chat_id"])
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
    try:
        result = await request.app[CHATS].inbound_text(text)
    except Exception:  # Twilio gets an answer; the text stays in Twilio's log
        log.exception("inbound text %s not recorded", text.message_sid)
        return _twiml(reply)
    if result.chat is None:
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
    try:
        await request.app[CHATS].inbound_text(text.as_inbound(), via="conversations")
    except Exception:  # Twilio only logs an error answer; the message stays in the Conversation
        log.exception("conversation message %s not recorded", text.message_sid)
    return web.Response(status=200)


def _twiml(reply: MessagingResponse) -> web.Response:
    return web.Response(text=str(reply), content_type="application/xml", charset="utf-8")


# -- helpers ---------------------------------------------------------------------------------


def _read_pages() -> dict[str, bytes]:
    folder = resources.files("web").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in STATIC_FILES}


def _static(request: web.Request, name: str) -> web.Response:
    suffix = name[name.rindex(".") :]
    return web.Response(
        body=request.app[PAGES][name],
        content_type=CONTENT_TYPES[suffix],
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )


async def static_file(request: web.Request) -> web.Response:
    """The pages' scripts and styles (a fixed list: nothing else under the package is served)."""
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    return _static(request, name)


def _refusal(problem: LinkProblem) -> web.Response:
    status, ko_title, ko_text, en_title, en_text = REFUSALS[problem]
    page = (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{ko_title}</title>"
        '<link rel="stylesheet" href="/static/chat/chat.css"></head>'
        f'<body class="refusal"><main data-testid="refusal" data-reason="{problem.value}">'
        f"<h1>{ko_title}</h1><p>{ko_text}</p>"
        f'<h2 lang="en">{en_title}</h2><p lang="en">{en_text}</p>'
        "</main></body></html>"
    )
    return web.Response(
        text=page,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )


async def _following(ws: web.WebSocketResponse, follow: Coroutine[Any, Any, None]) -> None:
    """Run a socket's follower; close the socket if it fails, so the page reconnects.

    A failure (the database went away) then costs a reconnection that resumes after the page's
    last message, rather than a page waiting on a dead feed.
    """
    try:
        await follow
    except (ConnectionError, RuntimeError) as err:  # the socket closed under a send
        log.debug("chat socket follower stopped: %r", err)
    except Exception:
        log.exception("chat socket follower failed; closing the socket")
        await ws.close(code=WS_TRY_AGAIN, message=b"try again")


async def _first_message(ws: web.WebSocketResponse) -> dict[str, Any] | None:
    try:
        frame = await ws.receive(timeout=30)
    except TimeoutError:
        return None
    return _json(frame.data) if frame.type == WSMsgType.TEXT else None


def _json(text: Any) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _client_id(data: dict[str, Any]) -> str | None:
    value = data.get("client_id")
    return value[:100] if isinstance(value, str) and value else None


def routes() -> list[web.RouteDef]:
    """The chat pages, sockets, API and the inbound text webhook."""
    return [
        web.get("/chat/{token}", customer_page),
        web.get("/chat/{token}/ws", customer_socket),
        web.get("/agent", agent_page),
        web.get("/agent/ws", agent_socket),
        web.get("/static/chat/{name}", static_file),
        web.get("/api/chats", list_chats),
        web.get("/api/chats/{chat_id}/messages", chat_messages),
        web.post("/api/chats/{chat_id}/take", take_chat),
        web.post("/api/chats/{chat_id}/messages", post_message),
        web.post("/api/chats/{chat_id}/close", close_chat),
        web.post("/twilio/sms", inbound_sms),
        web.post("/twilio/conversations", inbound_conversation),
    ]
