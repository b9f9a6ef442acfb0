"""The chat pages in a real Chromium against the real app: a call becomes a web chat.

A simulated caller enters an account number and is moved to a chat; the REST stand-in
records the SMS with the customer's link. The customer opens it on a phone-sized page that
shows what the call already told us; an agent signs in to the console, sees the chat waiting
with the call's context, takes it, and they talk both ways, by web and by SMS. Hostile text is
shown as text; a dropped customer socket loses and repeats nothing; closing shows on both
pages; expired and tampered links are refused.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp.test_utils import TestServer
from chat_pages_kit import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, AppFactory, PageProblems, app_of
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import Connection, select, update

from history.models import ChatSession
from telephony.simulator import CallerConfig, CallTranscript, place_call, send_text
from telephony.simulator.rest_api import RestStandIn
from web.keys import CHATS, STORE

CUSTOMER: Final = "+821012345678"
CALLED: Final = "+8215881234"
AGENT_NAME: Final = "김민수"
AGENT_PHONE: Final = "+821055550001"
ACCOUNT_NUMBER: Final = "12345678"
STEP_TIMEOUT: Final = 20.0
SEEN: Final = 10_000  # ms a page has to show something
LINK: Final = re.compile(re.escape(PUBLIC_URL) + r"/chat/[A-Za-z0-9._~-]+")
HOSTILE: Final = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
# What the recogniser "heard" is server-supplied text too: a hostile transcript must stay text.
HEARD_TEXT: Final = '잔액 <img src=x onerror="window.__pwned=3">'
HEARD: Final = {"node": "main", "transcript": HEARD_TEXT, "confidence": 0.87, "masked": False}
# Recorded on every page before its own scripts: the sockets it opens, so a test can drop one.
SOCKET_SPY: Final = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
})();
"""

expect.set_options(timeout=SEEN)


async def test_a_call_becomes_a_web_chat_with_an_agent(
    start_app: AppFactory,
    twilio: RestStandIn,
    browser: Browser,
    page_problems: PageProblems,
    artifacts: Callable[[str], Path],
    chat_menu: Path,
) -> None:
    server = await start_app(menu=chat_menu, twilio_api_base=twilio.url)
    base = str(server.make_url("")).rstrip("/")
    twilio.deliver_to(base, PUBLIC_URL)
    agent_id, agent_key = await _agent_with_key(server)

    # An earlier call of the same customer (card information), then the call that escalates.
    await _call(base, ["3", "2"])
    await _call(base, ["2", ACCOUNT_NUMBER + "#"])
    link = await _texted_link(twilio, CUSTOMER)
    chat_id = int(link.rsplit("/", 1)[1].split(".")[0])
    await _add_heard_speech(server, chat_id)

    # The customer opens the texted link on a phone.
    phone = await _context(browser, mobile=True)
    customer = await _page(phone, page_problems, "customer")
    opened = await customer.goto(base + link.removeprefix(PUBLIC_URL))
    assert opened is not None and opened.status == 200
    told = customer.get_by_test_id("told")
    await expect(told).to_be_visible()
    await expect(told).to_contain_text("전화로 알려주신 내용")
    await expect(customer.get_by_test_id("topics")).to_contain_text("잔액")
    account = customer.get_by_test_id("collected-item")
    await expect(account).to_have_count(1)
    await expect(account).to_have_attribute("data-sensitive", "true")
    await expect(account).to_contain_text("*" * len(ACCOUNT_NUMBER))
    await expect(account).to_contain_text("입력 완료")
    await expect(account).not_to_contain_text(ACCOUNT_NUMBER)
    status = customer.get_by_test_id("chat-status")
    await expect(status).to_have_attribute("data-status", "waiting")
    await expect(status).to_have_text("상담원을 연결하고 있습니다…")
    await expect(customer.get_by_test_id("connection")).to_have_attribute("data-state", "online")
    assert await customer.evaluate("document.documentElement.scrollWidth") <= 390
    await customer.screenshot(path=artifacts("1-customer-waiting"))

    # The agent signs in (a wrong key first), and sees the chat waiting with its context.
    desk = await _context(browser, mobile=False)
    agent = await _page(desk, page_problems, "agent")
    await agent.goto(base + "/agent")
    await agent.get_by_test_id("api-key").fill("not-a-key")
    await agent.get_by_test_id("login").click()
    await expect(agent.get_by_test_id("login-error")).to_be_visible()
    await expect(agent.get_by_test_id("console")).to_be_hidden()
    await agent.get_by_test_id("api-key").fill(agent_key)
    await agent.get_by_test_id("login").click()
    await expect(agent.get_by_test_id("agent-name")).to_have_text(AGENT_NAME)
    assert agent_key not in agent.url
    assert await agent.evaluate("Object.values(sessionStorage)") == [agent_key]
    item = _chat_item(agent, chat_id)
    await expect(item).to_have_attribute("data-status", "waiting")
    await expect(agent.get_by_test_id("list-waiting")).to_contain_text(CUSTOMER)
    await item.click()
    context = agent.get_by_test_id("context")
    await expect(agent.get_by_test_id("context-phone")).to_have_text(CUSTOMER)
    await expect(agent.get_by_test_id("context-topics")).to_contain_text("잔액")
    await expect(agent.get_by_test_id("context-path")).to_contain_text("main → account")
    collected = agent.get_by_test_id("context-collected")
    await expect(collected).to_contain_text("account_number")
    await expect(collected).to_contain_text("*" * len(ACCOUNT_NUMBER))
    await expect(collected).not_to_contain_text(ACCOUNT_NUMBER)
    await expect(agent.get_by_test_id("context-speech")).to_contain_text(HEARD_TEXT)
    await expect(agent.get_by_test_id("context-speech")).to_contain_text("87%")
    await expect(agent.get_by_test_id("context-earlier").locator("li")).to_have_count(1)
    await expect(agent.get_by_test_id("context-earlier")).to_contain_text("전화")
    await expect(context.locator("img, script")).to_have_count(0)
    await expect(agent.get_by_test_id("composer")).to_be_hidden()
    await agent.screenshot(path=artifacts("2-agent-waiting-chat"))

    # Take it: the customer sees who answers.
    await agent.get_by_test_id("take").click()
    await expect(item).to_have_attribute("data-status", "active")
    await expect(agent.get_by_test_id("list-mine")).to_contain_text(CUSTOMER)
    await expect(status).to_have_attribute("data-status", "active")
    await expect(status).to_contain_text(AGENT_NAME)

    # Both ways, by the web.
    hello = "안녕하세요, 상담원 김민수입니다. 무엇을 도와드릴까요?"
    await _agent_says(agent, hello)
    await _shown_once(customer, hello, sender="agent")
    question = "잔액 문자가 아직 안 왔어요."
    await _customer_says(customer, question)
    await _shown_once(agent, question, sender="customer")
    await _shown_once(customer, question, sender="customer")

    # By SMS: a reply to the link's text joins the same chat, on both pages.
    texted = "문자로도 답장해요"
    await _text_from_customer(base, texted)
    for page in (customer, agent):
        shown = await _shown_once(page, texted, sender="customer")
        await expect(shown).to_have_attribute("data-via", "sms")
    await customer.screenshot(path=artifacts("3-customer-conversation"))
    await agent.screenshot(path=artifacts("3-agent-conversation"))

    # Hostile text from either side is shown as the text it is, and never runs.
    await _customer_says(customer, HOSTILE)
    await _agent_says(agent, HOSTILE)
    for page in (customer, agent):
        for sender in ("customer", "agent"):
            shown = await _shown_once(page, HOSTILE, sender=sender)
            await expect(shown.get_by_test_id("message-body")).to_have_text(HOSTILE)
        await expect(page.locator("[data-testid=message] :is(img, script)")).to_have_count(0)
        assert await page.evaluate("typeof window.__pwned") == "undefined"
    await customer.screenshot(path=artifacts("4-customer-hostile-text"))

    # The customer's socket drops; the agent writes meanwhile, the customer too (queued).
    await phone.set_offline(True)
    await customer.evaluate("window.__sockets.forEach((socket) => socket.close())")
    connection = customer.get_by_test_id("connection")
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    while_away = "연결이 끊긴 동안 보낸 답변입니다."
    await _agent_says(agent, while_away)
    await _shown_once(agent, while_away, sender="agent")
    offline = "지하철이라 연결이 끊겼어요"
    await _customer_says(customer, offline, confirmed=False)
    await expect(customer.get_by_test_id("pending-message")).to_have_count(1)
    await asyncio.sleep(0.5)  # the page keeps retrying, and fails, while offline
    await expect(_messages(customer).filter(has_text=while_away)).to_have_count(0)
    await customer.screenshot(path=artifacts("5-customer-offline"))
    await phone.set_offline(False)
    await expect(connection).to_have_attribute("data-state", "online")
    await _shown_once(customer, while_away, sender="agent")
    await _shown_once(customer, offline, sender="customer")
    await _shown_once(agent, offline, sender="customer")
    await expect(customer.get_by_test_id("pending-message")).to_have_count(0)
    for page in (customer, agent):
        ids = await page.eval_on_selector_all(
            "[data-testid=message]", "(nodes) => nodes.map((n) => Number(n.dataset.messageId))"
        )
        assert ids == sorted(set(ids)), ids  # each message once, in order

    # The agent closes the chat: the customer's page says so and takes no more input.
    await agent.get_by_test_id("outcome").select_option("resolved")
    await agent.get_by_test_id("close").click()
    await expect(item).to_have_attribute("data-status", "closed")
    await expect(agent.get_by_test_id("list-closed")).to_contain_text(CUSTOMER)
    await expect(status).to_have_attribute("data-status", "closed")
    await expect(status).to_have_text("상담이 종료되었습니다. 이용해 주셔서 감사합니다.")
    await expect(customer.get_by_test_id("composer-input")).to_be_disabled()
    await expect(customer.get_by_test_id("send")).to_be_disabled()
    await customer.screenshot(path=artifacts("6-customer-closed"))
    await agent.screenshot(path=artifacts("6-agent-closed"))
    assert page_problems.entries == []
    service = app_of(server)[CHATS]
    stored = await service.chat(chat_id)
    assert stored is not None
    assert (stored.status, stored.outcome, stored.agent_id) == ("closed", "resolved", agent_id)

    # An expired link and a tampered one show the refusal page, in plain words.
    expired = service.signer.issue(chat_id, CUSTOMER, datetime.now(UTC) - timedelta(days=2))
    token = link.rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for name, bad, status_code, text in (
        ("expired", expired, 410, "이 채팅 링크는 만료되었습니다"),
        ("tampered", tampered, 403, "이 채팅 링크는 사용할 수 없습니다"),
    ):
        refused = await phone.new_page()
        response = await refused.goto(f"{base}/chat/{bad}")
        assert response is not None and response.status == status_code, name
        await expect(refused.get_by_test_id("refusal")).to_contain_text(text)
        await expect(refused.get_by_test_id("composer")).to_have_count(0)
        await refused.screenshot(path=artifacts(f"7-refusal-{name}"))
        await refused.close()

    await phone.close()
    await desk.close()


async def test_a_caller_waiting_in_the_queue_presses_2_for_a_chat(
    start_app: AppFactory,
    twilio: RestStandIn,
    browser: Browser,
    page_problems: PageProblems,
    artifacts: Callable[[str], Path],
    chat_menu: Path,
) -> None:
    server = await start_app(menu=chat_menu, twilio_api_base=twilio.url)
    base = str(server.make_url("")).rstrip("/")
    twilio.deliver_to(base, PUBLIC_URL)
    _, agent_key = await _agent_with_key(server)

    # Card services (3), card replacement (3): the queue; at its first offer the caller takes
    # the chat (2) instead of waiting on.
    transcript = await _call(base, ["3", "3", "2"], queue_seconds=3600)
    assert transcript.final_status == "completed"
    link = await _texted_link(twilio, CUSTOMER)
    chat_id = int(link.rsplit("/", 1)[1].split(".")[0])

    # An English-speaking customer's chat (the shipped menu's keypad cannot pick English, so
    # the chat's language is set as a caller who chose English would have it).
    await _set_language(server, chat_id, "en")

    phone = await _context(browser, mobile=True)
    customer = await _page(phone, page_problems, "customer")
    await customer.goto(base + link.removeprefix(PUBLIC_URL))
    await expect(customer.get_by_test_id("told")).to_contain_text("What you told us on the call")
    await expect(customer.get_by_test_id("topics")).to_contain_text("card services")
    await expect(customer.get_by_test_id("collected-section")).to_be_hidden()
    status = customer.get_by_test_id("chat-status")
    await expect(status).to_have_attribute("data-status", "waiting")
    await expect(status).to_have_text("Connecting you to an agent…")
    await expect(customer.get_by_test_id("send")).to_have_text("Send")
    await expect(customer.get_by_test_id("connection")).to_have_text("Online")
    assert await customer.evaluate("document.documentElement.lang") == "en"
    # Written before any agent answers: it waits in the chat for them.
    early = "I would like a new card, please."
    await _customer_says(customer, early)
    await customer.screenshot(path=artifacts("1-customer-english"))

    desk = await _context(browser, mobile=False)
    agent = await _page(desk, page_problems, "agent")
    await agent.goto(base + "/agent")
    await agent.get_by_test_id("api-key").fill(agent_key)
    await agent.get_by_test_id("api-key").press("Enter")
    item = _chat_item(agent, chat_id)
    await expect(item).to_have_attribute("data-status", "waiting")
    await item.click()
    await expect(agent.get_by_test_id("context-queue")).to_contain_text("general")
    await expect(agent.get_by_test_id("context-path")).to_contain_text("card_services → agents")
    await _shown_once(agent, early, sender="customer")
    await expect(agent.get_by_test_id("context-language")).to_have_text("영어")
    await agent.screenshot(path=artifacts("2-agent-queued-chat"))
    await agent.get_by_test_id("take").click()
    await expect(status).to_have_text(f"You are chatting with {AGENT_NAME}.")

    # A reload keeps the agent signed in (the key is in sessionStorage) and the thread.
    await agent.reload()
    await expect(agent.get_by_test_id("console")).to_be_visible()
    await _chat_item(agent, chat_id).click()
    await _shown_once(agent, early, sender="customer")
    await agent.get_by_test_id("logout").click()
    await expect(agent.get_by_test_id("login-panel")).to_be_visible()
    assert await agent.evaluate("sessionStorage.length") == 0
    assert page_problems.entries == []

    await phone.close()
    await desk.close()


# -- the app's side --------------------------------------------------------------------------


async def _agent_with_key(server: TestServer) -> tuple[int, str]:
    """An agent of the ``general`` queue and an agent API key acting for them."""
    store = app_of(server)[STORE]
    admin = await store.create_api_key(role="supervisor", name="test", at=datetime.now(UTC))
    base = str(server.make_url("")).rstrip("/")
    headers = {"Authorization": f"Bearer {admin}"}
    body = {"name": AGENT_NAME, "address": AGENT_PHONE, "queues": ["general"]}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(base + "/api/agents", json=body) as response,
    ):
        assert response.status == 201, await response.text()
        agent: dict[str, Any] = await response.json()
    key = await store.create_api_key(
        role="agent", name="console", at=datetime.now(UTC), agent_id=agent["id"]
    )
    return int(agent["id"]), key


async def _call(base: str, digits: list[str], **scenario: Any) -> CallTranscript:
    config = CallerConfig(
        server_url=base,
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        caller=CUSTOMER,
        called=CALLED,
        digits=tuple(digits),
        call_sid="CA" + uuid.uuid4().hex,
        **scenario,
    )
    return await asyncio.wait_for(place_call(config), STEP_TIMEOUT)


async def _texted_link(twilio: RestStandIn, phone: str) -> str:
    """The chat link in the SMS sent to ``phone`` (as texted: under PUBLIC_URL)."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            for message in twilio.record.messages:
                found = LINK.search(message.body)
                if message.to == phone and found:
                    assert message.from_ == CALLED
                    return found.group(0)
            await asyncio.sleep(0.05)


async def _add_heard_speech(server: TestServer, chat_id: int) -> None:
    """Put a recognised utterance into the chat's context (these tests run keypad-only)."""

    def add(conn: Connection) -> None:
        context = conn.execute(
            select(ChatSession.context).where(ChatSession.id == chat_id)
        ).scalar_one()
        context = {**context, "speech": [HEARD]}
        conn.execute(update(ChatSession).where(ChatSession.id == chat_id).values(context=context))

    await app_of(server)[STORE].database.write(add)


async def _set_language(server: TestServer, chat_id: int, language: str) -> None:
    def change(conn: Connection) -> None:
        conn.execute(update(ChatSession).where(ChatSession.id == chat_id).values(language=language))

    await app_of(server)[STORE].database.write(change)


async def _text_from_customer(base: str, body: str) -> None:
    """The customer replies to the link's text: Twilio's signed inbound SMS webhook."""
    reply = await send_text(
        server_url=base,
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_=CUSTOMER,
        to=CALLED,
        body=body,
    )
    assert reply.status == 200, reply.twiml


# -- the pages' side -------------------------------------------------------------------------


async def _context(browser: Browser, *, mobile: bool) -> BrowserContext:
    if mobile:
        context = await browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="ko-KR",
            timezone_id="Asia/Seoul",
        )
    else:
        context = await browser.new_context(
            viewport={"width": 1280, "height": 860}, locale="ko-KR", timezone_id="Asia/Seoul"
        )
    await context.add_init_script(SOCKET_SPY)
    return context


async def _page(context: BrowserContext, problems: PageProblems, name: str) -> Page:
    page = await context.new_page()
    problems.watch(page, name)
    return page


def _chat_item(agent: Page, chat_id: int) -> Locator:
    return agent.locator(f'[data-testid="chat-item"][data-chat-id="{chat_id}"]')


def _messages(page: Page, sender: str | None = None) -> Locator:
    if sender is None:
        return page.locator('[data-testid="message"]')
    return page.locator(f'[data-testid="message"][data-sender="{sender}"]')


async def _shown_once(page: Page, body: str, *, sender: str) -> Locator:
    """The one message of ``sender`` whose text is ``body`` (it appears, and only once)."""
    shown = _messages(page, sender).filter(
        has=page.get_by_test_id("message-body").get_by_text(body, exact=True)
    )
    await expect(shown).to_have_count(1)
    return shown


async def _customer_says(page: Page, body: str, *, confirmed: bool = True) -> None:
    box = page.get_by_test_id("composer-input")
    await box.fill(body)
    await box.press("Enter")
    await expect(box).to_have_value("")
    if confirmed:
        await _shown_once(page, body, sender="customer")


async def _agent_says(page: Page, body: str) -> None:
    box = page.get_by_test_id("composer-input")
    await box.fill(body)
    await page.get_by_test_id("send").click()
    await expect(box).to_have_value("")
