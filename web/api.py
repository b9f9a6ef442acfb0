"""The read API of the interaction history, behind API keys with roles."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from telephony.fields import whole_number
from web.keys import CLOCK, STORE, THROTTLES

ROLE: Final = web.RequestKey("api_role", str)
AGENT: Final[web.RequestKey[int | None]] = web.RequestKey("api_agent")
"""The agent an ``agent`` key acts for (None for other keys)."""
READ_HISTORY: Final = frozenset({"admin", "supervisor"})
E164: Final = re.compile(r"^\+?[1-9]\d{6,14}$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_key_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require ``Authorization: Bearer <key>`` on ``/api/``: 401 without a valid key."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    throttles = request.app[THROTTLES]
    client = throttles.admit_key_check(request, as_json=True)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    key = None
    if scheme.lower() == "bearer" and token:
        key = await request.app[STORE].authenticate_api_key(token.strip(), request.app[CLOCK]())
    if key is None:
        throttles.key_check_failed(client)
        raise web.HTTPUnauthorized(
            text='{"error": "a valid API key is required"}',
            content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="voicedesk"'},
        )
    request[ROLE] = key.role
    request[AGENT] = key.agent_id
    return await handler(request)


def _require(request: web.Request, roles: frozenset[str]) -> None:
    if request[ROLE] not in roles:
        raise web.HTTPForbidden(
            text='{"error": "this API key\'s role may not read the history"}',
            content_type="application/json",
        )


async def customer_interactions(request: web.Request) -> web.Response:
    """``GET /api/customers/{phone}/interactions``: a customer's timeline, newest first."""
    _require(request, READ_HISTORY)
    phone = request.match_info["phone"].strip()
    if not E164.match(phone):
        raise web.HTTPBadRequest(
            text='{"error": "phone must be E.164, e.g. +821012345678"}',
            content_type="application/json",
        )
    phone = phone if phone.startswith("+") else f"+{phone}"
    timeline = await request.app[STORE].customer_timeline(phone)
    if timeline is None:
        raise web.HTTPNotFound(
            text='{"error": "no such customer"}', content_type="application/json"
        )
    return web.json_response({"phone": phone, "interactions": [_plain(i) for i in timeline]})


async def interaction(request: web.Request) -> web.Response:
    """``GET /api/interactions/{id}``: one interaction with its ordered events."""
    _require(request, READ_HISTORY)
    interaction_id = whole_number(request.match_info["id"])
    if interaction_id is None:
        raise web.HTTPNotFound(
            text='{"error": "no such interaction"}', content_type="application/json"
        )
    detail = await request.app[STORE].interaction_detail(interaction_id)
    if detail is None:
        raise web.HTTPNotFound(
            text='{"error": "no such interaction"}', content_type="application/json"
        )
    return web.json_response(_plain(detail))


def routes() -> list[web.RouteDef]:
    """The history API routes."""
    return [
        web.get("/api/customers/{phone}/interactions", customer_interactions),
        web.get("/api/interactions/{id}", interaction),
    ]


def _plain(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else value
