"""Texts to chat customers: their link after escalation, and agents' messages while they are away.

Both outboxes live in the database (``chat_sessions.link_status``, ``chat_messages.sms_status``).
Any instance claims pending rows (``FOR UPDATE SKIP LOCKED`` / ``BEGIN IMMEDIATE``) by marking
them ``sent`` *before* sending, as the callback confirmations do: a crash between the claim and
Twilio's answer loses that one text rather than sending it twice. A refusal or an uncertain
answer marks it ``failed`` and is noted on the chat's history (the agent sees it there).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy import Connection, select, update

from history import event_log
from history.db import Database
from history.models import Agent, ChatMessage, ChatSession
from history.records import NewEvent
from telephony.rest import TelephonyRestError

log = logging.getLogger(__name__)

BATCH: Final = 50
"""Texts claimed per transaction."""

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class LinkText:
    """A chat whose link is to be texted now."""

    chat_id: int
    interaction_id: int
    phone: str
    from_number: str | None
    language: str
    conversation_sid: str | None


@dataclass(frozen=True, slots=True)
class AgentText:
    """An agent's message to be texted to the customer now."""

    message_id: int
    chat_id: int
    interaction_id: int
    phone: str
    from_number: str | None
    body: str
    agent_name: str | None
    conversation_sid: str | None


class ChatChannel(Protocol):
    """How texts reach a chat customer's phone: plain SMS, or a Twilio Conversation."""

    async def send_link(self, link: LinkText, body: str) -> str:
        """Text the link message ``body``; returns Twilio's SID of what was sent."""
        ...

    async def send_agent_text(self, text: AgentText) -> str:
        """Text an agent's message; returns Twilio's SID of what was sent."""
        ...


LinkBody = Callable[[LinkText], Awaitable[str]]
"""The link message for a chat, in its language, with the chat's signed link in it."""


class ChatOutbox:
    """Sends pending chat texts, each at most once across instances."""

    def __init__(
        self, db: Database, channel: ChatChannel, *, link_body: LinkBody, clock: Clock
    ) -> None:
        """Send through ``channel`` what ``db`` has pending."""
        self._db = db
        self._channel = channel
        self._link_body = link_body
        self._clock = clock

    async def send_pending(self) -> int:
        """Claim and send one batch of each outbox; returns how many texts were claimed."""
        links, texts = await self._db.read(pending)
        sent = 0
        if links:
            for link in await self._db.write(claim_links, limit=BATCH):
                await self._send_link(link)
                sent += 1
        if texts:
            for text in await self._db.write(claim_texts, limit=BATCH):
                await self._send_text(text)
                sent += 1
        return sent

    async def _send_link(self, link: LinkText) -> None:
        try:
            body = await self._link_body(link)
            sid = await self._channel.send_link(link, body)
        except TelephonyRestError as err:
            log.warning("chat %d: link not texted: %s", link.chat_id, err)
            await self._db.write(_record_link, link, self._clock(), None, str(err))
            return
        except Exception as err:  # one broken chat must not stop the batch
            log.exception("chat %d: link not texted", link.chat_id)
            await self._db.write(_record_link, link, self._clock(), None, repr(err))
            return
        await self._db.write(_record_link, link, self._clock(), sid, None)

    async def _send_text(self, text: AgentText) -> None:
        try:
            sid = await self._channel.send_agent_text(text)
        except TelephonyRestError as err:
            log.warning("chat %d: message %d not texted: %s", text.chat_id, text.message_id, err)
            await self._db.write(_record_text, text, self._clock(), None, str(err))
            return
        except Exception as err:
            log.exception("chat %d: message %d not texted", text.chat_id, text.message_id)
            await self._db.write(_record_text, text, self._clock(), None, repr(err))
            return
        await self._db.write(_record_text, text, self._clock(), sid, None)


def pending(conn: Connection) -> tuple[bool, bool]:
    """Whether links, and agents' texts, wait to be sent (the idle tick: two small reads)."""
    link = conn.scalar(select(ChatSession.id).where(ChatSession.link_status == "pending").limit(1))
    text = conn.scalar(select(ChatMessage.id).where(ChatMessage.sms_status == "pending").limit(1))
    return link is not None, text is not None


def claim_links(conn: Connection, *, limit: int) -> list[LinkText]:
    """Take up to ``limit`` pending links, marking them sent (at most once)."""
    claimed = (
        select(ChatSession.id)
        .where(ChatSession.link_status == "pending")
        .order_by(ChatSession.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        update(ChatSession)
        .where(ChatSession.id.in_(claimed.scalar_subquery()))
        .values(link_status="sent")
        .returning(
            ChatSession.id,
            ChatSession.interaction_id,
            ChatSession.phone,
            ChatSession.from_number,
            ChatSession.language,
            ChatSession.conversation_sid,
        )
    ).all()
    links = [
        LinkText(r.id, r.interaction_id, r.phone, r.from_number, r.language, r.conversation_sid)
        for r in rows
    ]
    return sorted(links, key=lambda link: link.chat_id)


def claim_texts(conn: Connection, *, limit: int) -> list[AgentText]:
    """Take up to ``limit`` pending agent texts, marking them sent (at most once)."""
    claimed = (
        select(ChatMessage.id)
        .where(ChatMessage.sms_status == "pending")
        .order_by(ChatMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = (
        conn.execute(
            update(ChatMessage)
            .where(ChatMessage.id.in_(claimed.scalar_subquery()))
            .values(sms_status="sent")
            .returning(ChatMessage.id)
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    rows = conn.execute(
        select(
            ChatMessage.id,
            ChatMessage.session_id,
            ChatSession.interaction_id,
            ChatSession.phone,
            ChatSession.from_number,
            ChatMessage.body,
            Agent.name,
            ChatSession.conversation_sid,
        )
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .outerjoin(Agent, Agent.id == ChatMessage.agent_id)
        .where(ChatMessage.id.in_(ids))
        .order_by(ChatMessage.id)
    )
    return [AgentText(*row) for row in rows]


def _record_link(
    conn: Connection, link: LinkText, at: datetime, sid: str | None, reason: str | None
) -> None:
    if sid is None:
        conn.execute(
            update(ChatSession).where(ChatSession.id == link.chat_id).values(link_status="failed")
        )
        event = NewEvent("chat_link_failed", {"chat_id": link.chat_id, "reason": reason}, at)
    else:
        event = NewEvent("chat_link_sent", {"chat_id": link.chat_id, "message_sid": sid}, at)
    event_log.append(conn, link.interaction_id, [event])


def _record_text(
    conn: Connection, text: AgentText, at: datetime, sid: str | None, reason: str | None
) -> None:
    values = {"sms_status": "failed"} if sid is None else {"sms_sid": sid}
    conn.execute(update(ChatMessage).where(ChatMessage.id == text.message_id).values(**values))
    payload = {"chat_id": text.chat_id, "message_id": text.message_id}
    if sid is None:
        event = NewEvent("chat_sms_failed", {**payload, "reason": reason}, at)
    else:
        event = NewEvent("chat_sms_sent", {**payload, "message_sid": sid}, at)
    event_log.append(conn, text.interaction_id, [event])
