"""Issue 5's journey without a browser: a call moves to chat, and SMS and web are one chat.

A simulated caller picks "chat" in the card services menu; the REST stand-in records the SMS
with the personal link; the link opens the page and its websocket; an agent takes the chat over
the API and the two exchange messages; the customer's SMS reply joins the same chat and the
agent's next message goes back by SMS; the agent closes the chat; the history links the chat to
the call with the call's context. Expired and tampered links are refused.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of
from running_clock import RunningClock

from agents import roster
from telephony.simulator import CallerConfig, place_call, send_text
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.transcript import InputRequest
from web.keys import CHATS, STORE

OPENING = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul
CALLER = "+821012345678"
CALLED = "+8215881234"
STEP_TIMEOUT = 30.0
LINK = re.compile(re.escape(PUBLIC_URL) + r"/chat/(\S+)")


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT_SID, AUTH_TOKEN) as stand_in:
        yield stand_in


Api = Callable[..., Awaitable[Any]]


async def test_a_call_escalates_to_one_chat_over_web_and_sms(
    start_app: AppFactory, twilio: RestStandIn
) -> None:
    server = await start_app(clock=RunningClock(OPENING), twilio_api_base=twilio.url)
    base = str(server.make_url("")).rstrip("/")
    manager = await _api(server, "supervisor")
    agent = await manager(
        "POST", "/api/agents", {"name": "김상담", "address": "+821055550001", "queues": ["general"]}
    )
    agent_api = await _api(server, "agent", agent["id"])

    # The caller: main menu 3 (card services), then 4 (continue by chat). The call ends.
    call_sid = await _call(base, ["3", "4"])
    link_text = await _text_to(twilio, CALLER, 1)
    assert link_text.from_ == CALLED
    match = LINK.search(link_text.body)
    assert match, link_text.body
    token = match.group(1)

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/chat/{token}") as page:
            assert page.status == 200
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
            assert page.headers["Referrer-Policy"] == "no-referrer"
        async with http.ws_connect(f"{base}/chat/{token}/ws") as customer:
            await customer.send_json({"type": "hello", "after": 0})
            chat = (await _next(customer, "chat"))["chat"]
            assert chat["status"] == "waiting"
            assert chat["topics"] == ["카드 서비스"]

            # The agent sees the chat waiting, with what the call learned.
            [listed] = (await agent_api("GET", "/api/chats"))["chats"]
            assert listed["status"] == "waiting" and listed["phone"] == CALLER
            context = listed["context"]
            assert context["call"]["call_sid"] == call_sid
            assert context["call"]["caller"] == CALLER
            assert context["path"][-3:] == ["main", "card_services", "text_chat"]
            assert context["topics"] == ["카드 서비스"]

            taken = await agent_api("POST", f"/api/chats/{listed['id']}/take")
            assert taken["status"] == "active" and taken["agent_name"] == "김상담"
            assert (await _next(customer, "chat"))["chat"]["agent_name"] == "김상담"

            hello = "안녕하세요, 김상담입니다. 이용 한도 변경을 도와드릴까요?"
            await agent_api("POST", f"/api/chats/{listed['id']}/messages", {"body": hello})
            message = (await _next(customer, "message"))["message"]
            assert (message["sender"], message["body"]) == ("agent", hello)
            assert "agent_id" not in message

            await customer.send_json({"type": "send", "body": "네, 올려 주세요", "client_id": "c1"})
            # Sent twice (a page retrying after a dropped socket): still one message.
            await customer.send_json({"type": "send", "body": "네, 올려 주세요", "client_id": "c1"})
            mine = (await _next(customer, "message"))["message"]
            assert (mine["sender"], mine["via"], mine["client_id"]) == ("customer", "web", "c1")

            # The customer answers by SMS instead: the same chat, on both sides.
            reply = await send_text(
                server_url=base,
                public_url=PUBLIC_URL,
                account_sid=ACCOUNT_SID,
                auth_token=AUTH_TOKEN,
                from_=CALLER,
                to=CALLED,
                body="문자로도 보냅니다",
            )
            assert reply.status == 200 and "<Response" in reply.twiml
            texted = (await _next(customer, "message"))["message"]
            assert (texted["sender"], texted["via"], texted["body"]) == (
                "customer",
                "sms",
                "문자로도 보냅니다",
            )
            # A retried webhook (same MessageSid) adds nothing.
            again = await send_text(
                server_url=base,
                public_url=PUBLIC_URL,
                account_sid=ACCOUNT_SID,
                auth_token=AUTH_TOKEN,
                from_=CALLER,
                to=CALLED,
                body="문자로도 보냅니다",
                message_sid=reply.message_sid,
            )
            assert again.status == 200
            messages = await agent_api("GET", f"/api/chats/{listed['id']}/messages?after=0")
            bodies = [(m["sender"], m["via"], m["body"]) for m in messages["messages"]]
            assert bodies == [
                ("agent", "console", hello),
                ("customer", "web", "네, 올려 주세요"),
                ("customer", "sms", "문자로도 보냅니다"),
            ]

            # The customer writes by SMS now: the agent's answer goes back by SMS too.
            answer = "한도를 300만 원으로 올렸습니다."
            await agent_api("POST", f"/api/chats/{listed['id']}/messages", {"body": answer})
            sms = await _text_to(twilio, CALLER, 2)
            assert sms.body == f"김상담: {answer}"

            closed = await agent_api(
                "POST", f"/api/chats/{listed['id']}/close", {"outcome": "resolved"}
            )
            assert closed["status"] == "closed"
            while (view := await _next(customer, "chat"))["chat"]["status"] != "closed":
                pass
            assert view["chat"]["status"] == "closed"

    # One history: the chat's parent is the call; both record the escalation.
    history = await manager("GET", f"/api/customers/{CALLER.replace('+', '%2B')}/interactions")
    by_channel = {i["channel"]: i for i in history["interactions"]}
    assert by_channel["chat"]["parent_id"] == by_channel["voice"]["id"]
    assert by_channel["chat"]["outcome"] == "resolved"
    assert by_channel["voice"]["outcome"] == "escalated"
    chat_detail = await manager("GET", f"/api/interactions/{by_channel['chat']['id']}")
    types = [e["type"] for e in chat_detail["events"]]
    for step in ("chat_started", "chat_link_sent", "chat_taken", "chat_message", "chat_closed"):
        assert step in types, types
    started = next(e for e in chat_detail["events"] if e["type"] == "chat_started")
    assert started["payload"]["context"]["call"]["call_sid"] == call_sid
    call_detail = await manager("GET", f"/api/interactions/{by_channel['voice']['id']}")
    escalated = [e for e in call_detail["events"] if e["type"] == "escalated_to_chat"]
    assert escalated and escalated[0]["payload"]["chat_interaction_id"] == by_channel["chat"]["id"]


async def test_expired_and_tampered_links_are_refused_with_a_page(
    start_app: AppFactory, twilio: RestStandIn
) -> None:
    clock = RunningClock(OPENING)
    server = await start_app(clock=clock, twilio_api_base=twilio.url)
    base = str(server.make_url("")).rstrip("/")
    await _call(base, ["3", "4"])
    token = LINK.search((await _text_to(twilio, CALLER, 1)).body).group(1)  # type: ignore[union-attr]
    chat_id = int(token.split(".")[0])
    service = app_of(server)[CHATS]
    expired = service.signer.issue(chat_id, CALLER, clock() - timedelta(days=2))
    other_customer = service.signer.issue(chat_id, "+821099998888", clock())
    signature = token.rsplit(".", 1)[1]
    tampered = {
        "another chat": f"{chat_id + 1}.{token.split('.')[1]}.{signature}",
        "a later expiry": f"{chat_id}.{int(token.split('.')[1]) + 86400}.{signature}",
        "a changed signature": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "another customer's link": other_customer,
        "garbage": "<script>alert(1)</script>",
    }
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/chat/{expired}") as page:
            assert page.status == 410
            text = await page.text()
            assert "만료" in text and "expired" in text
        for what, bad in tampered.items():
            async with http.get(f"{base}/chat/{bad}") as page:
                assert page.status in (403, 404), what
                if page.status == 403:
                    assert "사용할 수 없습니다" in await page.text(), what
                    assert "<script>alert" not in await page.text(), what
            async with http.get(f"{base}/chat/{bad}/ws") as socket_attempt:
                assert socket_attempt.status in (403, 404), what
        async with http.get(f"{base}/chat/{token}") as page:
            assert page.status == 200


async def test_a_text_from_a_known_customer_starts_a_chat_and_an_unknown_one_does_not(
    start_app: AppFactory, twilio: RestStandIn
) -> None:
    server = await start_app(clock=RunningClock(OPENING), twilio_api_base=twilio.url)
    base = str(server.make_url("")).rstrip("/")
    manager = await _api(server, "supervisor")
    await _call(base, ["3", "4"])
    await _text_to(twilio, CALLER, 1)
    chats = (await manager("GET", "/api/chats"))["chats"]
    await manager("POST", f"/api/chats/{chats[0]['id']}/close", {"outcome": "no_reply"})

    known = await send_text(
        server_url=base,
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_=CALLER,
        to=CALLED,
        body="다시 문의드립니다",
    )
    assert known.status == 200 and "<Message" not in known.twiml
    listed = (await manager("GET", "/api/chats"))["chats"]
    [started] = [c for c in listed if c["status"] != "closed"]
    assert started["customer_via"] == "sms" and started["queue"] == "general"
    earlier = started["context"]["earlier"]
    assert {e["channel"] for e in earlier} == {"voice", "chat"}

    # An agent of another queue neither lists nor reads it.
    store = app_of(server)[STORE]
    outsider = await store.database.write(
        roster.add_agent, name="박상담", address="client:park", queues=["billing"], at=OPENING
    )
    outsider_api = await _api(server, "agent", outsider.id)
    assert (await outsider_api("GET", "/api/chats"))["chats"] == []
    outsider_key = await store.create_api_key(
        role="agent", name="park", at=datetime.now(UTC), agent_id=outsider.id
    )
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{base}/api/chats/{started['id']}/messages",
            headers={"Authorization": f"Bearer {outsider_key}"},
        ) as refused,
    ):
        assert refused.status == 403

    unknown = await send_text(
        server_url=base,
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_="+821077776666",
        to=CALLED,
        body="누구세요?",
    )
    assert unknown.status == 200 and "<Message>" in unknown.twiml
    assert len((await manager("GET", "/api/chats"))["chats"]) == 1

    async with aiohttp.ClientSession() as http:
        forged = {"MessageSid": "SM" + "0" * 32, "From": CALLER, "To": CALLED, "Body": "x"}
        async with http.post(f"{base}/twilio/sms", data=forged) as response:
            assert response.status == 403


async def _api(server: TestServer, role: str, agent_id: int | None = None) -> Api:
    store = app_of(server)[STORE]
    token = await store.create_api_key(
        role=role, name=f"test {role}", at=datetime.now(UTC), agent_id=agent_id
    )
    base = str(server.make_url("")).rstrip("/")

    async def request(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, base + path, json=body, headers=headers) as response,
        ):
            assert response.status < 300, await response.text()
            return await response.json()

    return request


async def _call(server_url: str, keys: list[str]) -> str:
    pending = list(keys)

    async def answer(request: InputRequest) -> str | None:
        return pending.pop(0) if pending else None

    config = CallerConfig(
        server_url=server_url,
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        caller=CALLER,
        called=CALLED,
        call_sid="CA" + uuid.uuid4().hex,
    )
    transcript = await asyncio.wait_for(place_call(config, input_provider=answer), STEP_TIMEOUT)
    return transcript.call_sid


async def _text_to(twilio: RestStandIn, phone: str, count: int) -> Any:
    """The ``count``-th text the stand-in recorded to ``phone`` (waiting for it)."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            texts = [m for m in twilio.record.messages if m.to == phone]
            if len(texts) >= count:
                return texts[count - 1]
            await asyncio.sleep(0.05)


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next message of ``kind`` on the socket (others are skipped)."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            data = await ws.receive_json()
            if data.get("type") == "error":
                raise AssertionError(data)
            if data.get("type") == kind:
                return data
