"""The history API: API keys with roles, a customer's timeline, one interaction's events."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import aiohttp
from aiohttp.test_utils import TestServer
from conftest import PUBLIC_URL, AppFactory, app_of
from test_call_webhooks import EVERY_NODE_MENU, OPEN_HOURS, Clock, gather_of, make_call

from web.keys import STORE

CALLER = "+821055501234"


async def key_for(server: TestServer, role: str) -> str:
    return await app_of(server)[STORE].create_api_key(
        role=role, name=f"test {role}", at=datetime.now(UTC)
    )


async def a_finished_call(server: TestServer, session: aiohttp.ClientSession) -> str:
    call = await make_call(server, session, caller=CALLER)
    first = await call.twiml("/twilio/voice", status="ringing")
    account = await call.twiml(gather_of(first).attrib["action"], {"Digits": "2"})
    await call.twiml(gather_of(account).attrib["action"], {"Digits": "87654321"})
    await call.status_callback()
    return call.call_sid


async def test_supervisor_reads_timeline_and_ordered_masked_events(
    start_app: AppFactory,
) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    token = await key_for(server, "supervisor")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        call_sid = await a_finished_call(server, session)
        async with session.get(
            server.make_url(f"/api/customers/{CALLER}/interactions"), headers=headers
        ) as response:
            assert response.status == 200
            timeline = await response.json()
        assert timeline["phone"] == CALLER
        [item] = timeline["interactions"]
        assert item["call_sid"] == call_sid and item["channel"] == "voice"
        async with session.get(
            server.make_url(f"/api/interactions/{item['id']}"), headers=headers
        ) as response:
            assert response.status == 200
            detail = await response.json()
    seqs = [e["seq"] for e in detail["events"]]
    assert seqs == sorted(seqs) and seqs[0] == 1
    assert "87654321" not in str(detail)
    assert any(
        e["type"] == "value_collected" and e["payload"]["value"] == "********"
        for e in detail["events"]
    )


async def test_admin_may_read_too(start_app: AppFactory) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    token = await key_for(server, "admin")
    async with aiohttp.ClientSession() as session:
        await a_finished_call(server, session)
        async with session.get(
            server.make_url(f"/api/customers/{CALLER}/interactions"),
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200


async def test_missing_or_unknown_key_is_401_and_agent_role_is_403(
    start_app: AppFactory,
) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    agent = await key_for(server, "agent")
    url = server.make_url(f"/api/customers/{CALLER}/interactions")
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        async with session.get(url, headers={"Authorization": "Bearer vdk_not-a-key"}) as r:
            assert r.status == 401
        async with session.get(url, headers={"Authorization": f"Bearer {agent}"}) as r:
            assert r.status == 403


async def test_unknown_customer_and_interaction_are_404(start_app: AppFactory) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    token = await key_for(server, "supervisor")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        for path, status in (
            ("/api/customers/+821099999999/interactions", 404),
            ("/api/customers/not-a-phone/interactions", 400),
            ("/api/interactions/424242", 404),
        ):
            async with session.get(server.make_url(path), headers=headers) as response:
                assert response.status == status, path


async def test_health_and_readiness(start_app: AppFactory) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url("/healthz")) as response:
            assert response.status == 200
        async with session.get(server.make_url("/readyz")) as response:
            assert response.status == 200
            body = await response.json()
    assert body["checks"] == {"database": "ok", "menu": "support"}


async def test_prompt_route_serves_cacheable_mulaw_and_404s_unknown(
    start_app: AppFactory,
) -> None:
    server = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        first = await call.twiml("/twilio/voice", status="ringing")
        play = next(first.iter("Play")).text
        assert play is not None
        path = play.removeprefix(PUBLIC_URL)
        async with session.get(server.make_url(path)) as response:
            assert response.status == 200
            assert response.content_type == "audio/wav"
            assert "immutable" in response.headers["Cache-Control"]
            assert response.headers["Content-Language"] == "ko"
            assert unquote(response.headers["X-Voicedesk-Prompt-Text"]).startswith("고객센터")
            etag = response.headers["ETag"]
        async with session.get(server.make_url(path), headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        async with session.get(server.make_url("/prompts/" + "0" * 64 + ".wav")) as response:
            assert response.status == 404
        async with session.get(server.make_url("/prompts/../../etc/passwd")) as response:
            assert response.status == 404
