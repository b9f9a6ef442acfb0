"""What the chat pages and the chat API both show of chats and agents, and small parsers."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from agents.roster import get_agent
from chat.sessions import ChatInfo
from chat.topics import topics
from telephony.fields import whole_number
from web.keys import MENUS, STORE

CLOSED_SHOWN: Final = 5
"""Recently closed chats an agent's list keeps."""
MANAGERS: Final = frozenset({"admin", "supervisor"})
"""Roles that see every chat and may close any."""


async def agent_info(request: web.Request, agent_id: int) -> dict[str, Any] | None:
    """The agent ``agent_id`` as the console shows it (id, name, queues), or None."""
    info = await request.app[STORE].database.read(get_agent, agent_id)
    if info is None:
        return None
    return {"id": info.id, "name": info.name, "queues": list(info.queues)}


def agent_chat(request: web.Request, chat: ChatInfo) -> dict[str, Any]:
    """A chat as agents see it: everything, and the call's choices in words."""
    data = chat.to_json()
    data["context"] = {**chat.context, "topics": topics_of(request, chat)}
    return data


def topics_of(request: web.Request, chat: ChatInfo) -> list[str]:
    """The menu choices the chat's call made, in the chat's language."""
    return topics(request.app[MENUS].published, chat.context.get("path", []), chat.language)


# -- helpers ---------------------------------------------------------------------------------


def as_int(value: Any) -> int:
    """A client's id or count (a JSON number or digits, see ``telephony.fields``); else 0."""
    return whole_number(value) or 0


def client_id_of(data: dict[str, Any]) -> str | None:
    """A message's ``client_id`` from a page, or None (its bound is checked where it is posted)."""
    value = data.get("client_id")
    return value if isinstance(value, str) and value else None
