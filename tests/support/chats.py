"""A chat waiting for an agent, opened straight in the history, with its customer's link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import Connection

from history import chat_sessions
from history.chat_sessions import ChatRequest
from web.keys import CHATS, STORE

CUSTOMER = "+821012345678"


@dataclass(frozen=True)
class OpenChat:
    id: int
    token: str


async def open_chat(app: web.Application, phone: str = CUSTOMER) -> OpenChat:
    """A waiting chat of ``phone`` in the ``general`` queue, as a call's escalation opens it."""
    now = datetime.now(UTC)
    request = ChatRequest(
        phone=phone,
        from_number=None,
        queue="general",
        node="",
        language="ko",
        waiting_since=now,
        requested_at=now,
        send_link=False,
    )

    def opening(conn: Connection) -> int:
        return chat_sessions.open_from_call(conn, request, None).id

    chat_id = await app[STORE].database.write(opening)
    return OpenChat(chat_id, app[CHATS].link_token(chat_id, phone))
