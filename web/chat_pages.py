"""The chat pages and their sockets: the customer's page and the agent console.

- ``GET /chat/{token}`` — the customer's page (static; a refusal page for a bad link);
  ``GET /chat/{token}/ws`` — its socket (messages resume after the last id the page saw).
- ``GET /agent`` — the agent console (static); ``GET /agent/ws`` — its socket, which takes the
  agent's API key in its first message (browsers cannot set headers on a websocket).
- ``GET /static/chat/{name}`` — the pages' scripts and styles.

Customer messages (per socket and per link) and page and socket opens (per client address) are
rate limited, as are failed console logins (``web.throttles``); over a limit: 429 or a socket
error saying how long to wait.

Pages get a strict Content-Security-Policy (no inline script, same-origin connections only) and
insert every message as text, so a message can never run as code. The link token is in the
page's path: ``Referrer-Policy: no-referrer`` keeps it from leaking to any other site.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from importlib import resources
from typing import Any, Final

from aiohttp import WSMsgType, web

from chat.service import ChatService, customer_view
from chat.sessions import ChatError, MessageInfo
from chat.tokens import LinkProblem
from config.limits import CHAT_SOCKET_MESSAGE_BYTES
from history.db import HistoryUnavailableError
from telephony.fields import whole_number
from web.chat_views import (
    CLOSED_SHOWN,
    agent_chat,
    agent_info,
    as_int,
    client_id_of,
    topics_of,
)
from web.keys import CHAT_PAGES, CHATS, CLOCK, STORE, THROTTLES
from web.rate_limit import RateLimiter
from web.throttles import retry_after

log = logging.getLogger(__name__)


SEEN_EVERY: Final = 10.0
"""Seconds between a customer page's presence notes (well inside chat.sessions.PRESENCE)."""
WS_TRY_AGAIN: Final = 1013
"""Websocket close code "try again later": the page reconnects and resumes."""
SEND_FAILED: Final = "not done: please try again"
# A customer's message the database could not take is sent again by the page after this long:
# the API's Retry-After, short against an outage of seconds, long against a restart's load.
DATABASE_RETRY_SECONDS: Final = 5
"""What a page is told when an action failed on our side (the log has the details)."""
STATIC_FILES: Final = frozenset(
    {"chat.html", "chat.js", "chat.css", "agent.html", "agent.js", "common.js"}
)
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


# -- the customer's page ---------------------------------------------------------------------


async def customer_page(request: web.Request) -> web.Response:
    """The chat page for a genuine link; a clear refusal page otherwise."""
    request.app[THROTTLES].admit_chat_request(request)
    opened = await request.app[CHATS].open_link(request.match_info["token"])
    if isinstance(opened, LinkProblem):
        return _refusal(opened)
    return _static(request, "chat.html")


async def customer_socket(request: web.Request) -> web.StreamResponse:
    """The customer's live chat: history after the page's last id, then every change."""
    request.app[THROTTLES].admit_chat_request(request)
    service: ChatService = request.app[CHATS]
    opened = await service.open_link(request.match_info["token"])
    if isinstance(opened, LinkProblem):
        return _refusal(opened)
    socket_rate = request.app[THROTTLES].chat_socket()
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=CHAT_SOCKET_MESSAGE_BYTES)
    await ws.prepare(request)
    hello = await _first_message(ws)
    if hello is None or hello.get("type") != "hello":
        await ws.close(code=4400, message=b"hello expected")
        return ws
    after = as_int(hello.get("after"))
    follower = asyncio.create_task(
        _following(ws, partial(_follow_customer, ws, service, opened.id, after, request))
    )
    try:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            data = _json(frame.data)
            if data.get("type") == "send":
                if slow_down := _slow_down(request, socket_rate, opened.id, data):
                    await ws.send_json(slow_down)
                    continue
                try:
                    await service.post_customer(
                        opened.id, str(data.get("body", "")), client_id=client_id_of(data)
                    )
                except ChatError as err:
                    await ws.send_json({"type": "error", "error": str(err)})
                except HistoryUnavailableError as err:
                    log.warning("chat %d: a customer's message not taken: %s", opened.id, err)
                    # Not taken, so nothing is lost: the page keeps it and sends it again
                    # (its client_id makes a second arrival a no-op) until the database is back.
                    await ws.send_json(
                        {
                            "type": "error",
                            "error": SEND_FAILED,
                            "retry_after": DATABASE_RETRY_SECONDS,
                            "client_id": client_id_of(data),
                        }
                    )
                except Exception:  # last line of defence: the page keeps its socket
                    log.exception("chat %d: a customer's message failed", opened.id)
                    await ws.send_json({"type": "error", "error": SEND_FAILED})
    except ConnectionError as err:  # the page went away while we answered it
        log.debug("chat %d: customer socket gone: %r", opened.id, err)
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
        changed = service.feed.watch(chat_id)
        chat = await service.chat(chat_id)
        if chat is None:
            return
        if loop.time() - last_seen >= SEEN_EVERY:
            await service.seen(chat_id)
            last_seen = loop.time()
        view = customer_view(chat, topics_of(request, chat))
        if view != shown:
            await ws.send_json({"type": "chat", "chat": view})
            shown = view
        # The chat's row says whether anything is new: an idle poll is one read.
        while after < chat.last_message_id:
            batch = await service.messages_after(chat_id, after)
            if not batch:
                break
            for message in batch:
                await ws.send_json({"type": "message", "message": _customer_message(message)})
                after = message.id
        await service.feed.wait(changed)


def _slow_down(
    request: web.Request, socket_rate: RateLimiter, chat_id: int, data: dict[str, Any]
) -> dict[str, Any] | None:
    """The error a page gets for a message over its socket's or its link's rate, or None.

    The message is not taken: the page keeps it and sends it again after ``retry_after``.
    """
    wait = request.app[THROTTLES].take_chat_message(socket_rate, chat_id)
    if not wait:
        return None
    seconds = retry_after(wait)
    client_id = data.get("client_id")
    return {
        "type": "error",
        "error": f"too many messages: please slow down and send again in {seconds} s",
        "retry_after": seconds,
        "client_id": client_id if isinstance(client_id, str) else None,
    }


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
    throttles = request.app[THROTTLES]
    client = throttles.admit_key_check(request)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=CHAT_SOCKET_MESSAGE_BYTES)
    await ws.prepare(request)
    auth = await _first_message(ws)
    key = None
    if auth is not None and auth.get("type") == "auth" and isinstance(auth.get("key"), str):
        key = await request.app[STORE].authenticate_api_key(auth["key"], request.app[CLOCK]())
    if key is None:
        throttles.key_check_failed(client)
    if key is None or key.role != "agent" or key.agent_id is None:
        with contextlib.suppress(ConnectionError):  # gone before logging in: nobody to tell
            await ws.send_json({"type": "error", "error": "an agent's API key is required"})
        await ws.close(code=4401, message=b"unauthorized")
        return ws
    agent = await agent_info(request, key.agent_id)
    if agent is None:
        await ws.close(code=4401, message=b"unknown agent")
        return ws
    with contextlib.suppress(ConnectionError):  # gone already: the loop below ends at once
        await ws.send_json({"type": "ready", "agent": agent})
    service: ChatService = request.app[CHATS]
    after = _resume_points(auth.get("after") if auth is not None else None)
    follower = asyncio.create_task(
        _following(
            ws, partial(_follow_agent, ws, service, key.agent_id, agent["queues"], after, request)
        )
    )
    try:
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await ws.send_json(await _agent_action(service, key.agent_id, _json(frame.data)))
    except ConnectionError as err:  # the console went away while we answered it
        log.debug("agent %d: console socket gone: %r", key.agent_id, err)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    return ws


async def _agent_action(
    service: ChatService, agent_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    action, chat_id = data.get("type"), as_int(data.get("chat"))
    result: dict[str, Any] = {"type": "result", "action": action, "chat": chat_id, "ok": True}
    try:
        match action:
            case "take":
                await service.take(chat_id, agent_id)
            case "send":
                await service.post_agent(
                    chat_id, agent_id, str(data.get("body", "")), client_id=client_id_of(data)
                )
            case "close":
                await service.close(chat_id, agent_id, str(data.get("outcome", "")))
            case _:
                raise ChatError(f"unknown action {action!r}", 400)
    except ChatError as err:
        result |= {"ok": False, "error": str(err)}
    except HistoryUnavailableError as err:
        log.warning("agent %d: %r of chat %d not done: %s", agent_id, action, chat_id, err)
        result |= {"ok": False, "error": SEND_FAILED}
    except Exception:  # last line of defence: the console keeps its socket
        log.exception("agent %d: %r of chat %d failed", agent_id, action, chat_id)
        result |= {"ok": False, "error": SEND_FAILED}
    return result


def _resume_points(raw: Any) -> dict[int, int]:
    """The last message id the console saw per chat (``{"<chat id>": <message id>}``)."""
    if not isinstance(raw, dict):
        return {}
    points = {whole_number(chat): as_int(after) for chat, after in raw.items()}
    return {chat: after for chat, after in points.items() if chat}


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
        changed = service.feed.watch()
        listed = await service.listing(queues=queues, agent_id=agent_id, closed=CLOSED_SHOWN)
        view = [agent_chat(request, chat) for chat in listed]
        if view != shown:
            # The server's "now" lets the console show waiting times without trusting its clock.
            now = request.app[CLOCK]().isoformat()
            await ws.send_json({"type": "chats", "chats": view, "now": now})
            shown = view
        for chat in listed:
            while chat.last_message_id > after.get(chat.id, 0):
                batch = await service.messages_after(chat.id, after.get(chat.id, 0))
                if not batch:
                    break
                for message in batch:
                    await ws.send_json({"type": "message", "message": message.to_json()})
                    after[chat.id] = message.id
        await service.feed.wait(changed)


# -- files and sockets ---------------------------------------------------------------------


def read_pages() -> dict[str, bytes]:
    """The pages' files, read from the package (once, off the event loop, at start)."""
    folder = resources.files("web").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in STATIC_FILES}


def _static(request: web.Request, name: str) -> web.Response:
    suffix = name[name.rindex(".") :]
    return web.Response(
        body=request.app[CHAT_PAGES][name],
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


async def _following(
    ws: web.WebSocketResponse, follow: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    """Run a socket's follower; close the socket if it fails, so the page reconnects.

    A failure (the database went away) then costs a reconnection that resumes after the page's
    last message, rather than a page waiting on a dead feed. The follower is created here, not
    by the caller: a socket closed before this task starts leaves no coroutine never awaited.
    """
    try:
        await follow()
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


def routes() -> list[web.RouteDef]:
    """The pages, their sockets and their files."""
    return [
        web.get("/chat/{token}", customer_page),
        web.get("/chat/{token}/ws", customer_socket),
        web.get("/agent", agent_page),
        web.get("/agent/ws", agent_socket),
        web.get("/static/chat/{name}", static_file),
    ]
