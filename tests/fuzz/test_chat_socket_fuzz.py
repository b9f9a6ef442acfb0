"""The chat sockets' messages, fuzzed: the customer's ``/chat/{token}/ws`` and ``/agent/ws``.

A customer case opens a genuine or fuzzed link, says hello (or not) with a fuzzed resume point,
and sends fuzzed messages. An agent case logs in with the agent's key (or a fuzzed one) and a
fuzzed resume map, then sends fuzzed actions (take, send, close, unknown) on real and
impossible chat ids: every action must be answered on the socket (issue 10, finding 7). Either
socket may be refused (4xx handshake) or closed with a 1000- or 4000-range code; nothing may log
a traceback.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import strategies as st

from telephony.simulator.rest_api import RestStandIn
from tests.support import twilio_shapes as shapes
from tests.support.fuzzing import LogWatch, LoopBridge, Tally, run_examples
from tests.support.running_app import database_of, running_app
from tests.support.staff import open_chat, staff

CLEAN_CLOSE: Final = frozenset({1000, 1001, 1009, 1013}) | frozenset(range(4000, 5000))
"""Close codes of a socket the server ended on purpose (1013: try again later); never 1011
(an internal error) or 1006 (the connection dropped without a close)."""
ANSWER_SECONDS: Final = 10.0
"""How long an agent's action may take to be answered."""
RAISED_LIMITS: Final[dict[str, Any]] = {
    "chat_socket_messages_per_minute": 10_000,
    "chat_link_messages_per_minute": 10_000,
    "chat_page_requests_per_minute": 100_000,
    "auth_failures_per_minute": 10_000,
}
"""The fuzz opens thousands of sockets a minute from one address: rate limits are tested
elsewhere, here they would only turn cases into 429s and "slow down" errors."""
ACTIONS: Final = ("take", "send", "close", "hello", "auth", "")
FRESH: Final = "fresh chat"
"""Stands for a chat opened for the case: the setup's chats end up closed by earlier cases."""

JSON_VALUES: Final = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        shapes.values().filter(lambda v: len(v) <= 3000),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(shapes.any_text(0, 10), inner, max_size=3)
    ),
    max_leaves=5,
)
NUMBERS: Final = st.one_of(
    shapes.numbers(), st.integers(), st.just(99999999999999999999), st.floats(), JSON_VALUES
)
"""Where an id or a count goes: digits (ASCII or not), JSON numbers of any size, anything."""


def raw_frames() -> st.SearchStrategy[str | bytes]:
    """What is not a JSON object at all."""
    return st.one_of(
        shapes.any_text(max_size=60),
        st.binary(max_size=100),
        st.sampled_from(("{", "[]", "null", "Infinity", '{"chat": Infinity}', "1e999")),
    )


@dataclass(frozen=True)
class CustomerCase:
    """A customer's socket: which link, and what it sends."""

    link: int | str
    messages: list[str | bytes]


@dataclass(frozen=True)
class AgentCase:
    """An agent's console: a genuine or fuzzed login, then actions."""

    genuine_key: bool
    after: Any
    actions: list[dict[str, Any]]


def customer_cases(links: int) -> st.SearchStrategy[CustomerCase]:
    hello = st.fixed_dictionaries({"type": st.just("hello")}, optional={"after": NUMBERS})
    send = st.fixed_dictionaries(
        {"type": st.just("send")},
        optional={"body": JSON_VALUES, "client_id": JSON_VALUES},
    )
    message = st.one_of(
        hello, send, st.dictionaries(st.sampled_from(("type", "body")), JSON_VALUES)
    )
    frames = st.one_of(message.map(json.dumps), raw_frames())
    first = st.sampled_from((True, True, False)).flatmap(
        lambda polite: hello.map(json.dumps) if polite else frames
    )
    fuzzed = shapes.values().filter(lambda v: len(v) < 500)
    link = st.sampled_from(("genuine", "genuine", "genuine", "fuzzed")).flatmap(
        lambda kind: st.integers(0, links - 1) if kind == "genuine" else fuzzed
    )
    return st.builds(
        CustomerCase,
        link,
        st.builds(lambda f, rest: [f, *rest], first, st.lists(frames, max_size=5)),
    )


def agent_cases(chats: tuple[int, ...]) -> st.SearchStrategy[AgentCase]:
    chat = st.one_of(st.sampled_from(chats), st.sampled_from(tuple(map(str, chats))), NUMBERS)
    text = st.one_of(shapes.any_text(), JSON_VALUES)
    outcome = st.one_of(st.sampled_from(("resolved", "no_reply", "")), JSON_VALUES)
    # Well-formed actions on real chats reach the database; fuzzed ones the parsers.
    well_formed = st.fixed_dictionaries(
        {"type": st.sampled_from(ACTIONS[:3]), "chat": st.sampled_from((*chats, FRESH, FRESH))},
        optional={"body": text, "client_id": text, "outcome": outcome},
    )
    fuzzed = st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(ACTIONS), JSON_VALUES)},
        optional={"chat": chat, "body": text, "client_id": text, "outcome": outcome},
    )
    action = st.sampled_from((True, True, False)).flatmap(
        lambda sane: well_formed if sane else fuzzed
    )
    after = st.one_of(
        st.none(),
        st.dictionaries(st.one_of(shapes.numbers(), shapes.any_text()), NUMBERS),
        JSON_VALUES,
    )
    genuine_key = st.sampled_from((True, True, True, False))
    return st.builds(AgentCase, genuine_key, after, st.lists(action, min_size=1, max_size=5))


@pytest.fixture
async def server(
    database_url: str, prompt_cache: Path, twilio: RestStandIn
) -> AsyncIterator[TestServer]:
    async with running_app(
        database_url, prompt_cache, twilio_api_base=twilio.url, **RAISED_LIMITS
    ) as app:
        yield app


async def test_customer_socket_messages_never_crash_it(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    base = str(server.make_url("")).rstrip("/")
    team = await staff(server)
    tally = Tally("customer chat socket", database_of(server))
    async with aiohttp.ClientSession() as http:
        bridge, logs = LoopBridge(asyncio.get_running_loop()), LogWatch(caplog.records)

        async def customer(case: CustomerCase) -> int | str:
            link = team.links[case.link] if isinstance(case.link, int) else case.link
            url = f"{base}/chat/{quote(link, safe='')}/ws"
            try:
                async with http.ws_connect(url) as ws:
                    await _send_all(ws, case.messages)
                    await ws.close()
                    return ws.close_code or 0
            except aiohttp.WSServerHandshakeError as err:
                return f"handshake {err.status}"

        def examples(case: CustomerCase) -> None:
            answer = bridge(customer(case))
            tally.count(answer)
            if isinstance(answer, int):
                assert answer in CLEAN_CLOSE, (case, answer)
            else:
                assert answer.split()[1][0] == "4", (case, answer)
            logs.check(case)

        await run_examples(examples, case=lambda: customer_cases(len(team.links)))
    tally.report()


async def test_agent_console_answers_every_action_and_stays_open(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    base = str(server.make_url("")).rstrip("/")
    team = await staff(server)
    phones = (f"+8210666{n:05d}" for n in itertools.count())
    tally = Tally("agent console socket", database_of(server))
    async with aiohttp.ClientSession() as http:
        bridge, logs = LoopBridge(asyncio.get_running_loop()), LogWatch(caplog.records)

        async def console(case: AgentCase) -> str:
            async with http.ws_connect(f"{base}/agent/ws") as ws:
                key = team.keys["agent"] if case.genuine_key else "not a key"
                await ws.send_json({"type": "auth", "key": key, "after": case.after})
                ready = await _next(ws, {"ready", "error"})
                if ready is None or ready["type"] == "error":
                    await ws.close()
                    assert ws.close_code in CLEAN_CLOSE, (case, ws.close_code)
                    return "refused"
                answers = []
                fresh: int | None = None
                for action in case.actions:
                    if action.get("chat") == FRESH:
                        fresh = fresh or (await open_chat(server, next(phones)))[0]
                        action = action | {"chat": fresh}
                    await ws.send_str(json.dumps(action))
                    result = await _next(ws, {"result"})
                    assert result is not None, (case, action, ws.close_code)
                    answers.append("ok" if result["ok"] else "error")
                await ws.close()
                return "+".join(sorted(set(answers)))

        def examples(case: AgentCase) -> None:
            tally.count(bridge(console(case)))
            logs.check(case)

        await run_examples(examples, case=lambda: agent_cases(team.chats))
    tally.report()


async def _send_all(ws: aiohttp.ClientWebSocketResponse, frames: list[str | bytes]) -> None:
    try:
        for frame in frames:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
    except ConnectionError:
        pass  # the server closed the socket first: its close code tells why


async def _next(ws: aiohttp.ClientWebSocketResponse, kinds: set[str]) -> dict[str, Any] | None:
    """The next message of one of ``kinds`` (others skipped); None once the socket closed."""
    async with asyncio.timeout(ANSWER_SECONDS):
        async for frame in ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(frame.data)
            if data.get("type") in kinds:
                return dict(data)
    return None
