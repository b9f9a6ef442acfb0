"""Chats on both databases: escalation with the call's context, messages, agents, the outboxes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select, update

from agents import roster
from chat import sessions
from chat.outbox import AgentText, ChatOutbox, LinkText, pending
from chat.sessions import ChatError, NewMessage
from history import chat_sessions
from history.chat_sessions import ChatRequest
from history.db import Database
from history.models import ChatMessage, ChatSession
from history.records import NewEvent
from history.store import SqlHistoryStore
from history.turn_effects import OpenChat

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CALLER = "+821012345678"
CALLED = "+8215881234"
ACCOUNT = "97531864"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def escalate(
    store: SqlHistoryStore, call_sid: str = "CA1", *, start: float = 0, queued: float | None = None
) -> int:
    """A call that went welcome → main → card_services → text_chat, with a masked account."""
    state = {"caller": CALLER, "called": CALLED, "language": "ko", "variables": {"acct": ACCOUNT}}
    record, _ = await store.open_call(
        call_sid=call_sid,
        caller=CALLER,
        called=CALLED,
        direction="inbound",
        menu_id="support",
        menu_checksum="c" * 64,
        state=state,
        at=at(start),
    )
    events = [
        NewEvent("node_entered", {"node": "welcome", "type": "say"}, at(start)),
        NewEvent("node_entered", {"node": "main", "type": "menu"}, at(start + 1)),
        NewEvent(
            "speech_recognized",
            {
                "node": "main",
                "transcript": "카드 서비스",
                "heard": "카드 서비스",
                "confidence": 0.9,
            },
            at(start + 5),
        ),
        NewEvent("node_entered", {"node": "account", "type": "collect"}, at(start + 6)),
        NewEvent(
            "value_collected",
            {"node": "account", "variable": "acct", "value": "********", "sensitive": True},
            at(start + 9),
        ),
        NewEvent(
            "queue_left",
            {"node": "agents", "queue": "general", "result": "chat", "waited_seconds": 42},
            at(start + 60),
        ),
        NewEvent("node_entered", {"node": "text_chat", "type": "chat"}, at(start + 60)),
    ]
    request = ChatRequest(
        phone=CALLER,
        from_number=CALLED,
        queue="general",
        node="text_chat",
        language="ko",
        waiting_since=at(queued if queued is not None else start + 60),
        requested_at=at(start + 60),
    )
    committed = await store.commit_turn(
        call_sid=call_sid,
        expected_version=record.version,
        state=state,
        events=events,
        response="<Response/>",
        ended=True,
        outcome="escalated",
        at=at(start + 60),
        effects=(OpenChat(request),),
    )
    assert committed
    return record.interaction_id


async def only_chat(db: Database) -> sessions.ChatInfo:
    chat = await db.read(sessions.find_open_for, CALLER)
    assert chat is not None
    return chat


async def agent(db: Database, name: str, queues: list[str]) -> int:
    info = await db.write(
        roster.add_agent, name=name, address=f"client:{name}", queues=queues, at=T0
    )
    return info.id


async def test_escalation_opens_a_chat_carrying_the_calls_context(store: SqlHistoryStore) -> None:
    call_interaction = await escalate(store, queued=-30)
    chat = await only_chat(store.database)
    assert (chat.status, chat.queue, chat.language, chat.phone) == (
        "waiting",
        "general",
        "ko",
        CALLER,
    )
    assert chat.waiting_since == at(-30)  # the place in line the caller had
    context = chat.context
    assert context["call"]["call_sid"] == "CA1"
    assert context["call"]["interaction_id"] == call_interaction
    assert (context["call"]["caller"], context["call"]["called"]) == (CALLER, CALLED)
    assert context["path"] == ["welcome", "main", "account", "text_chat"]
    assert context["collected"] == [
        {"node": "account", "variable": "acct", "value": "********", "sensitive": True}
    ]
    assert context["speech"][0]["transcript"] == "카드 서비스"
    assert context["queue"] == {"queue": "general", "waited_seconds": 42}
    # The live call state holds the account in clear; the context never does.
    assert ACCOUNT not in json.dumps(context)

    detail = await store.interaction_detail(chat.interaction_id)
    assert detail is not None
    assert detail.summary.channel == "chat" and detail.summary.parent_id == call_interaction
    assert [e.type for e in detail.events] == ["chat_started"]
    call = await store.interaction_detail(call_interaction)
    assert call is not None
    escalated = [e.payload for e in call.events if e.type == "escalated_to_chat"]
    assert escalated == [{"chat_id": chat.id, "chat_interaction_id": chat.interaction_id}]


async def test_escalating_again_rejoins_the_open_chat_with_the_new_calls_context(
    store: SqlHistoryStore,
) -> None:
    await escalate(store, "CA1")
    first = await only_chat(store.database)
    second_call = await escalate(store, "CA2", start=600)
    again = await only_chat(store.database)
    assert again.id == first.id
    assert again.context["call"]["call_sid"] == "CA2"
    earlier = {e["interaction_id"] for e in again.context["earlier"]}
    assert second_call not in earlier and first.interaction_id in earlier
    detail = await store.interaction_detail(first.interaction_id)
    assert detail is not None
    assert [e.type for e in detail.events] == ["chat_started", "chat_rejoined"]


async def test_messages_count_once_per_page_id_and_per_twilio_sid(store: SqlHistoryStore) -> None:
    await escalate(store)
    db = store.database
    chat = await only_chat(db)
    web = NewMessage("customer", "web", "  안녕하세요  ", at(70), client_id="c-1")
    first, created = await db.write(sessions.post, chat.id, web)
    again, created_again = await db.write(sessions.post, chat.id, web)
    assert created and not created_again and again.id == first.id
    assert first.body == "안녕하세요"
    text = NewMessage("customer", "sms", "문자입니다", at(71), external_sid="SM1")
    sms, _ = await db.write(sessions.post, chat.id, text)
    retried, created = await db.write(sessions.post, chat.id, text)
    assert not created and retried.id == sms.id
    listed = await db.read(sessions.messages_after, chat.id, 0)
    assert [(m.via, m.body) for m in listed] == [("web", "안녕하세요"), ("sms", "문자입니다")]
    assert await db.read(sessions.messages_after, chat.id, first.id) == [sms]
    assert (await only_chat(db)).customer_via == "sms"


@pytest.mark.parametrize(
    ("body", "status"), [("", 400), ("   \n ", 400), ("가" * (sessions.MAX_BODY + 1), 400)]
)
async def test_empty_or_overlong_messages_are_refused(
    store: SqlHistoryStore, body: str, status: int
) -> None:
    await escalate(store)
    chat = await only_chat(store.database)
    with pytest.raises(ChatError) as refused:
        await store.database.write(
            sessions.post, chat.id, NewMessage("customer", "web", body, at(70))
        )
    assert refused.value.status == status
    assert await store.database.read(sessions.messages_after, chat.id, 0) == []


async def test_only_the_agent_holding_a_chat_writes_in_it_and_one_agent_wins_a_take(
    store: SqlHistoryStore,
) -> None:
    await escalate(store)
    db = store.database
    chat = await only_chat(db)
    kim, lee = await agent(db, "kim", ["general"]), await agent(db, "lee", ["general"])
    outsider = await agent(db, "park", ["billing"])
    hello = NewMessage("agent", "console", "안녕하세요", at(80), agent_id=kim)
    with pytest.raises(ChatError) as not_taken:
        await db.write(sessions.post, chat.id, hello)
    assert not_taken.value.status == 403
    with pytest.raises(ChatError) as wrong_queue:
        await db.write(sessions.take, chat.id, outsider, at(80))
    assert wrong_queue.value.status == 403

    results = await asyncio.gather(
        db.write(sessions.take, chat.id, kim, at(81)),
        db.write(sessions.take, chat.id, lee, at(81)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, sessions.ChatInfo)]
    lost = [r for r in results if isinstance(r, ChatError)]
    assert len(won) == 1 and len(lost) == 1 and lost[0].status == 409
    holder = won[0].agent_id
    assert won[0].status == "active" and won[0].taken_at == at(81)
    other = lee if holder == kim else kim
    with pytest.raises(ChatError):
        await db.write(
            sessions.post, chat.id, NewMessage("agent", "console", "x", at(82), agent_id=other)
        )
    posted, _ = await db.write(
        sessions.post, chat.id, NewMessage("agent", "console", "네", at(82), agent_id=holder)
    )
    assert posted.agent_id == holder


async def test_an_agents_message_is_texted_only_while_the_customer_is_away(
    store: SqlHistoryStore,
) -> None:
    await escalate(store)
    db = store.database
    chat = await only_chat(db)
    kim = await agent(db, "kim", ["general"])
    await db.write(sessions.take, chat.id, kim, at(70))

    async def say(text: str, when: float) -> tuple[bool, bool]:
        await db.write(
            sessions.post, chat.id, NewMessage("agent", "console", text, at(when), agent_id=kim)
        )
        return await db.read(_pending_text)

    assert (await say("away: never opened the page", 71))[1]  # texted
    await db.write(_clear_texts)
    await db.write(sessions.seen, chat.id, at(72))
    assert not (await say("page open", 80))[1]
    assert (await say("page quiet for over 30 s", 72 + 31))[1]
    await db.write(_clear_texts)
    await db.write(sessions.seen, chat.id, at(110))
    await db.write(sessions.post, chat.id, NewMessage("customer", "sms", "문자로 답해요", at(111)))
    assert (await say("the customer writes by SMS", 112))[1]


async def test_a_closed_chat_ends_its_interaction_and_takes_no_more_messages(
    store: SqlHistoryStore,
) -> None:
    await escalate(store)
    db = store.database
    chat = await only_chat(db)
    kim = await agent(db, "kim", ["general"])
    await db.write(sessions.take, chat.id, kim, at(70))
    with pytest.raises(ChatError) as bad_outcome:
        await db.write(sessions.close, chat.id, kim, "whatever", at(90))
    assert bad_outcome.value.status == 400
    closed = await db.write(sessions.close, chat.id, kim, "resolved", at(90))
    assert (closed.status, closed.outcome, closed.closed_at) == ("closed", "resolved", at(90))
    with pytest.raises(ChatError) as twice:
        await db.write(sessions.close, chat.id, None, "resolved", at(91))
    assert twice.value.status == 409
    with pytest.raises(ChatError) as late:
        await db.write(sessions.post, chat.id, NewMessage("customer", "web", "hi", at(92)))
    assert late.value.status == 409
    detail = await store.interaction_detail(chat.interaction_id)
    assert detail is not None
    assert (detail.summary.ended_at, detail.summary.outcome) == (at(90), "resolved")
    assert await db.read(sessions.find_open_for, CALLER) is None


class RecordingChannel:
    """Twilio's side of the texts, as seen by the outbox: what was sent, to whom."""

    def __init__(self) -> None:
        self.links: list[int] = []
        self.texts: list[int] = []

    async def send_link(self, link: LinkText, body: str) -> str:
        await asyncio.sleep(0)  # let the other sender run between claims
        self.links.append(link.chat_id)
        return f"SM{link.chat_id:032d}"

    async def send_agent_text(self, text: AgentText) -> str:
        self.texts.append(text.message_id)
        return f"SM{text.message_id:032d}"


async def test_two_outboxes_send_each_link_once(store: SqlHistoryStore) -> None:
    db = store.database
    for n in range(30):
        await _open_chat(db, f"+8210555{n:05d}")
    channel = RecordingChannel()

    async def body(link: LinkText) -> str:
        return f"link for chat {link.chat_id}"

    outboxes = [ChatOutbox(db, channel, link_body=body, clock=lambda: at(100)) for _ in range(2)]
    for _ in range(3):
        await asyncio.gather(*(outbox.send_pending() for outbox in outboxes))
    assert sorted(channel.links) == sorted(set(channel.links)) and len(channel.links) == 30
    assert await db.read(_link_statuses) == {"sent"}


async def _open_chat(db: Database, phone: str) -> None:
    request = ChatRequest(
        phone=phone,
        from_number=CALLED,
        queue="general",
        node="text_chat",
        language="ko",
        waiting_since=T0,
        requested_at=T0,
    )
    await db.write(chat_sessions.open_from_call, request, None)


def _pending_text(conn: Connection) -> tuple[bool, bool]:
    return pending(conn)


def _clear_texts(conn: Connection) -> None:
    conn.execute(update(ChatMessage).values(sms_status="sent"))


def _link_statuses(conn: Connection) -> set[str]:
    return set(conn.scalars(select(ChatSession.link_status)))
