"""The optional Twilio Conversations adapter, end to end against the stand-in.

With ``VOICEDESK_CHAT_CHANNEL=conversations`` the same escalation opens one Conversation per chat
(the customer as an SMS participant, texted from the number they dialled), posts the link to it,
takes the customer's replies from the Conversations webhook, posts the agent's messages while the
customer is on their phone, and closes the Conversation with the chat, so the customer's next
chat can bind their number again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of
from running_clock import RunningClock

from agents import roster
from telephony.simulator import CallerConfig, place_call, send_conversation_message
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.transcript import InputRequest
from web.keys import STORE

OPENING = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul
CALLER = "+821012345678"
CALLED = "+8215881234"
STEP_TIMEOUT = 30.0


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT_SID, AUTH_TOKEN) as stand_in:
        yield stand_in


async def test_a_chat_runs_through_one_conversation_closed_with_the_chat(
    start_app: AppFactory, twilio: RestStandIn
) -> None:
    server = await start_app(
        clock=RunningClock(OPENING), twilio_api_base=twilio.url, chat_channel="conversations"
    )
    base = str(server.make_url("")).rstrip("/")
    store = app_of(server)[STORE]
    agent_key = await _agent_key(server)

    await _call(base)
    conversation = await _until(lambda: twilio.record.conversations)
    sid = conversation[0].sid
    # The participant is added right after the Conversation is created: wait for it too.
    [participant] = await _until(lambda: twilio.record.participants_of(sid))
    assert (participant.address, participant.proxy_address) == (CALLER, CALLED)
    [link] = await _until(lambda: twilio.record.messages_in(sid))
    assert f"{PUBLIC_URL}/chat/" in link.body and link.author == "voicedesk"
    assert not [m for m in twilio.record.messages if m.to == CALLER]  # no plain SMS

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {agent_key}"}) as api:
        [chat] = await _json(api.get(f"{base}/api/chats"), "chats")
        assert chat["phone"] == CALLER
        # The customer answers on their phone: Twilio posts it to the Conversations webhook.
        status = await send_conversation_message(
            base, PUBLIC_URL, ACCOUNT_SID, AUTH_TOKEN, sid, CALLER, "한도 문의드려요"
        )
        assert status == 200
        # Our own message echoed back by Twilio is not the customer's.
        echoed = await send_conversation_message(
            base, PUBLIC_URL, ACCOUNT_SID, AUTH_TOKEN, sid, "voicedesk", "echo"
        )
        assert echoed == 200
        messages = await _json(api.get(f"{base}/api/chats/{chat['id']}/messages"), "messages")
        assert [(m["sender"], m["via"], m["body"]) for m in messages] == [
            ("customer", "conversations", "한도 문의드려요")
        ]

        await _json(api.post(f"{base}/api/chats/{chat['id']}/take"), "status")
        async with api.post(
            f"{base}/api/chats/{chat['id']}/messages", json={"body": "확인해 드릴게요"}
        ) as posted:
            assert posted.status == 201
        answers = await _until(lambda: twilio.record.messages_in(sid)[1:])
        assert (answers[0].author, answers[0].body) == ("김상담", "김상담: 확인해 드릴게요")

        async with api.post(
            f"{base}/api/chats/{chat['id']}/close", json={"outcome": "resolved"}
        ) as closed:
            assert closed.status == 200
    [final] = [c for c in twilio.record.conversations if c.sid == sid]
    assert final.state == "closed"
    detail = await store.interaction_detail(chat["interaction_id"])
    assert detail is not None
    assert "chat_link_sent" in [e.type for e in detail.events]

    # The customer's next chat binds their number again (possible only once the first closed).
    await _call(base)
    await _until(lambda: [c for c in twilio.record.conversations if c.sid != sid])
    newer = next(c for c in twilio.record.conversations if c.sid != sid)
    await _until(lambda: twilio.record.participants_of(newer.sid))


async def _agent_key(server: Any) -> str:
    store = app_of(server)[STORE]
    agent = await store.database.write(
        roster.add_agent, name="김상담", address="client:kim", queues=["general"], at=OPENING
    )
    return await store.create_api_key(
        role="agent", name="kim", at=datetime.now(UTC), agent_id=agent.id
    )


async def _call(server_url: str) -> None:
    keys = ["3", "4"]  # card services, then chat

    async def answer(request: InputRequest) -> str | None:
        return keys.pop(0) if keys else None

    config = CallerConfig(
        server_url=server_url,
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        caller=CALLER,
        called=CALLED,
        call_sid="CA" + uuid.uuid4().hex,
    )
    await asyncio.wait_for(place_call(config, input_provider=answer), STEP_TIMEOUT)


async def _until(found: Any) -> Any:
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            if value := found():
                return value
            await asyncio.sleep(0.05)


async def _json(request: Any, key: str) -> Any:
    async with request as response:
        assert response.status < 300, await response.text()
        return (await response.json())[key]
