"""The agents and callbacks API: agents log in and out; supervisors see and cancel callbacks.

Roles: ``admin`` and ``supervisor`` add agents, set any agent's state and manage callbacks; an
``agent`` key (created with ``--agent ID``) sets only its own agent's state.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, TypeGuard

from aiohttp import web

from agents import roster
from config.limits import AGENT_IDENTITY_CHARS, AGENT_NAME_CHARS, AGENT_QUEUES, QUEUE_ID_CHARS
from config.menu_fields import NAME, NAME_RULE
from history import callback_requests
from history.models import AGENT_STATES, CALLBACK_STATUSES, MAX_ID
from telephony.fields import whole_number
from web.api import AGENT, ROLE
from web.keys import CLOCK, STORE

MANAGERS: Final = frozenset({"admin", "supervisor"})
ADDRESS: Final = re.compile(
    rf"(\+[1-9][0-9]{{7,14}}|client:[A-Za-z0-9_.@-]{{1,{AGENT_IDENTITY_CHARS}}})"
)
NAME_LENGTH: Final = AGENT_NAME_CHARS
# A supervisor's list of callbacks is for reading; the oldest beyond this are left off.
CALLBACK_LIST_LIMIT: Final = 500


async def list_agents(request: web.Request) -> web.Response:
    """``GET /api/agents``: every agent with its state (managers)."""
    _require(request, MANAGERS)
    agents = await request.app[STORE].database.read(roster.list_agents)
    return web.json_response({"agents": [a.to_json() for a in agents]})


async def add_agent(request: web.Request) -> web.Response:
    """``POST /api/agents`` ``{"name", "address", "queues"}``: a new agent, offline (managers)."""
    _require(request, MANAGERS)
    body = await _json(request)
    name, address, queues = body.get("name"), body.get("address"), body.get("queues")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= NAME_LENGTH or "\x00" in name:
        raise _bad("name must be a non-empty text (no NUL)")
    if not isinstance(address, str) or not ADDRESS.fullmatch(address):
        raise _bad("address must be an E.164 number (+8210…) or client:<identity>")
    if not _queue_ids(queues):
        raise _bad(f"queues must be a list of at most {AGENT_QUEUES} queue ids ({NAME_RULE})")
    try:
        agent = await request.app[STORE].database.write(
            roster.add_agent,
            name=name.strip(),
            address=address,
            queues=queues,
            at=request.app[CLOCK](),
        )
    except roster.AgentExistsError as err:
        raise _error(web.HTTPConflict, str(err)) from err
    return web.json_response(agent.to_json(), status=201)


async def set_agent_state(request: web.Request) -> web.Response:
    """``POST /api/agents/{id}/state`` ``{"state": "available"|"wrap_up"|"offline"}``."""
    agent_id = _id(request)
    if request[ROLE] not in MANAGERS and request[AGENT] != agent_id:
        raise _error(web.HTTPForbidden, "an agent key may set only its own agent's state")
    state = (await _json(request)).get("state")
    if not isinstance(state, str):
        raise _bad("state is required")
    if state not in AGENT_STATES:
        # Not a state at all is a bad request; 409 stays for a change the rules forbid (busy).
        raise _bad(f"state must be one of {', '.join(sorted(roster.SETTABLE_STATES))}")
    by = f"{request[ROLE]} key"
    try:
        agent = await request.app[STORE].database.write(
            roster.set_state, agent_id, state, at=request.app[CLOCK](), by=by
        )
    except roster.AgentStateError as err:
        raise _error(web.HTTPConflict, str(err)) from err
    if agent is None:
        raise _error(web.HTTPNotFound, "no such agent")
    return web.json_response(agent.to_json())


async def list_callbacks(request: web.Request) -> web.Response:
    """``GET /api/callbacks?status=pending``: callback requests, oldest place first."""
    _require(request, MANAGERS)
    status = request.query.get("status")
    if status is not None and status not in CALLBACK_STATUSES:
        raise _bad(f"status must be one of {', '.join(sorted(CALLBACK_STATUSES))}")
    found = await request.app[STORE].database.read(
        callback_requests.list_requests, status=status, limit=CALLBACK_LIST_LIMIT
    )
    return web.json_response({"callbacks": [c.to_json() for c in found]})


async def cancel_callback(request: web.Request) -> web.Response:
    """``POST /api/callbacks/{id}/cancel``: cancel a request not yet being dialled."""
    _require(request, MANAGERS)
    callback_id = _id(request)
    if await request.app[STORE].callback(callback_id) is None:
        raise _error(web.HTTPNotFound, "no such callback")
    cancelled = await request.app[STORE].database.write(
        callback_requests.cancel, callback_id, at=request.app[CLOCK](), by=request[ROLE]
    )
    if not cancelled:
        raise _error(web.HTTPConflict, "no pending callback with this id (dialling or closed)")
    return web.json_response({"id": callback_id, "status": "cancelled"})


def routes() -> list[web.RouteDef]:
    """The agents and callbacks routes."""
    return [
        web.get("/api/agents", list_agents),
        web.post("/api/agents", add_agent),
        web.post(r"/api/agents/{id:\d+}/state", set_agent_state),
        web.get("/api/callbacks", list_callbacks),
        web.post(r"/api/callbacks/{id:\d+}/cancel", cancel_callback),
    ]


def _queue_ids(value: object) -> TypeGuard[list[str]]:
    """Whether ``value`` is a bounded list of queue ids (they live in a JSON column)."""
    if not isinstance(value, list) or len(value) > AGENT_QUEUES:
        return False
    return all(isinstance(q, str) and len(q) <= QUEUE_ID_CHARS and NAME.fullmatch(q) for q in value)


def _require(request: web.Request, roles: frozenset[str]) -> None:
    if request[ROLE] not in roles:
        raise _error(web.HTTPForbidden, "this API key's role may not do this")


def _id(request: web.Request) -> int:
    value = whole_number(request.match_info["id"], MAX_ID)
    if not value:
        raise _error(web.HTTPNotFound, "not found")
    return value


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _bad("the body must be a JSON object") from err
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _bad(message: str) -> web.HTTPException:
    return _error(web.HTTPBadRequest, message)


def _error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")
