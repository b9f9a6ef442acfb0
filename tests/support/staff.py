"""A staffed contact centre in a running app: API keys per role, agents, and open chats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from aiohttp.test_utils import TestServer

from agents import roster
from history import chat_sessions
from history.chat_sessions import ChatRequest
from tests.support.running_app import OPEN_HOURS, app_of
from web.keys import CHATS, STORE

QUEUE: Final = "general"
"""The shipped menu's agents' queue."""
CUSTOMERS: Final = tuple(f"+8210555010{n:02d}" for n in range(1, 9))
"""Eight customers, each with an open chat: agents' fuzzed actions close some along the way."""


@dataclass(frozen=True)
class Staff:
    """Who and what the tests act with.

    Attributes:
        keys: An API key per role (``admin``, ``supervisor``, ``agent``).
        agent_id: The agent the ``agent`` key acts for.
        chats: Open chats waiting in the agent's queue, by id.
        links: Each chat's customer link token.

    """

    keys: dict[str, str]
    agent_id: int
    chats: tuple[int, ...]
    links: tuple[str, ...]


async def staff(server: TestServer, at: datetime = OPEN_HOURS) -> Staff:
    """Two agents of :data:`QUEUE`, a key per role and a waiting chat per customer."""
    app = app_of(server)
    store = app[STORE]
    agent = await store.database.write(
        roster.add_agent, name="김상담", address="+821055550001", queues=[QUEUE], at=at
    )
    await store.database.write(
        roster.add_agent, name="이상담", address="client:agent2", queues=[QUEUE], at=at
    )
    keys = {
        role: await store.create_api_key(
            role=role,
            name=f"test {role}",
            at=at,
            agent_id=agent.id if role == "agent" else None,
        )
        for role in ("admin", "supervisor", "agent")
    }
    chats, links = [], []
    for phone in CUSTOMERS:
        chat_id, link = await open_chat(server, phone, at)
        chats.append(chat_id)
        links.append(link)
    return Staff(keys, agent.id, tuple(chats), tuple(links))


async def open_chat(server: TestServer, phone: str, at: datetime = OPEN_HOURS) -> tuple[int, str]:
    """The customer's open chat waiting in :data:`QUEUE` (a new one if they have none): id, link."""
    app = app_of(server)
    request = ChatRequest(
        phone=phone,
        from_number="+8215881234",
        queue=QUEUE,
        node="main",
        language="ko",
        waiting_since=at,
        requested_at=at,
        send_link=False,
    )
    opened = await app[STORE].database.write(chat_sessions.open_from_call, request, None)
    return opened.id, app[CHATS].link_token(opened.id, phone)
