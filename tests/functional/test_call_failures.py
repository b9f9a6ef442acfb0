"""Failures inside a call: Twilio always gets valid TwiML that apologises and routes on."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from conftest import AppFactory, app_of
from test_call_webhooks import EVERY_NODE_MENU, OPEN_HOURS, Clock, gather_of, make_call, verbs

from history.db import create_engine
from speech.synthesis import PromptSynthesizer, SynthesisError
from web.keys import SETTINGS, STORE


class SynthesizerFailingOn:
    """The real synthesizer, except that it fails for one text once armed (fault injection).

    It stands in for the day espeak-ng crashes or the cache disk fills up: the Synthesizer port
    failing, while everything of ours around it runs for real.
    """

    def __init__(self, real: PromptSynthesizer, text: str) -> None:
        self.real = real
        self.text = text
        self.armed = False

    def key(self, text: str, language: str) -> str:
        return self.real.key(text, language)

    async def render(self, text: str, language: str) -> str:
        if self.armed and text == self.text:
            raise SynthesisError("espeak-ng crashed (injected)")
        return await self.real.render(text, language)

    async def prerender(self, prompts: Iterable[tuple[str, str]]) -> int:
        return await self.real.prerender(prompts)

    async def read(self, key: str) -> bytes | None:
        return await self.real.read(key)

    def text_of(self, key: str) -> tuple[str, str] | None:
        return self.real.text_of(key)

    async def close(self) -> None:
        await self.real.close()


ACCOUNT_PROMPT = "계좌 번호 여덟 자리를 입력해 주세요."


async def test_failure_inside_a_call_apologises_routes_to_fallback_and_is_recorded(
    start_app: AppFactory, prompt_cache: Path
) -> None:
    failing = SynthesizerFailingOn(PromptSynthesizer(prompt_cache), ACCOUNT_PROMPT)
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS), synthesizer=failing)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        first = await call.twiml("/twilio/voice", status="ringing")
        failing.armed = True
        routed = await call.twiml(gather_of(first).attrib["action"], {"Digits": "2"})
    # The apology, then the menu's fallback: the `agents` queue.
    assert verbs(routed) == ["Play", "Enqueue"]
    store = app_of(server)[STORE]
    record = await store.get_call(call.call_sid)
    assert record is not None
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    events = detail.to_json()["events"]
    failure = next(e for e in events if e["type"] == "failure")
    assert "SynthesisError" in failure["payload"]["reason"]
    fell = next(e for e in events if e["type"] == "fell_back")
    assert fell["payload"]["to"] == "agents"


async def test_call_that_cannot_be_loaded_still_gets_valid_twiml(start_app: AppFactory) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        first = await call.twiml("/twilio/voice", status="ringing")
        engine = create_engine(app_of(server)[SETTINGS].database_url)
        try:
            async with engine.begin() as conn:  # a corrupted live row
                await conn.execute(
                    sa.text("UPDATE calls SET state = :s WHERE call_sid = :c"),
                    {"s": "{}", "c": call.call_sid},
                )
        finally:
            await engine.dispose()
        answer = await call.twiml(gather_of(first).attrib["action"], {"Digits": "2"})
    # Nothing can route a call whose row is unreadable: an apology and a hang-up, never a bare
    # <Enqueue> (no waitUrl, no action, no row in the line: no agent would ever get the caller).
    assert verbs(answer) == ["Play", "Hangup"]


async def test_webhook_for_an_unknown_call_gets_an_apology_not_a_500(
    start_app: AppFactory,
) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        answer = await call.twiml("/twilio/gather?turn=3", {"Digits": "1"})
    assert verbs(answer) == ["Play", "Hangup"]


async def test_status_callback_that_cannot_be_recorded_is_not_a_500(
    start_app: AppFactory,
) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        await call.twiml("/twilio/voice", status="ringing")
        engine = create_engine(app_of(server)[SETTINGS].database_url)
        try:
            async with engine.begin() as conn:  # the event log is gone: recording must fail
                await conn.execute(sa.text("ALTER TABLE interaction_events RENAME TO lost"))
        finally:
            await engine.dispose()
        assert await call.status_callback() == 204
