"""Moving a caller to a text chat: the ``chat`` node, and the chat offered while waiting."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from waiting_support import (
    AGENTS,
    AT,
    CALLER,
    LINE_NUMBER,
    MAIN,
    PLACE,
    both,
    bye,
    listening_at,
    message,
    prompts,
    queued,
    waiting_menu,
)

from config.menu import ChatNode, Option, QueueNode
from config.messages import MessageKey
from ivr import actions as act
from ivr import events as ev
from ivr.engine import current_listen, new_call, step
from ivr.state import PHASE_ENDED, PHASE_QUEUED, CallState

CHAT = ChatNode(
    id="chat",
    queue="general",
    prompt=both("채팅 상담으로 안내해 드리겠습니다.", "Let's continue by chat."),
    next="bye",
)
BARE_CHAT = ChatNode(id="bare_chat", queue="general")
"""A chat node with nothing but its queue: no prompt, no next."""
CHAT_AGENTS = replace(AGENTS, offer_chat="chat", offer_chat_after=30)
"""The waiting menu's queue, offering the chat from 30 s (the callback from 60 s)."""
CHAT_LINE = QueueNode(id="chat_line", queue="general", offer_chat="chat")
"""A queue offering the chat from the first announcement, and no callback."""
CHAT_MAIN = replace(
    MAIN,
    options=(*MAIN.options, Option(key="3", next="chat"), Option(key="4", next="bare_chat")),
)
MENU = waiting_menu(CHAT_MAIN, CHAT_AGENTS, CHAT_LINE, CHAT, BARE_CHAT)
NOT_E164 = ["", "anonymous", "client:alice", "sip:alice@example.com", "01012345678", "+0101234"]
LEFT_FOR_CHAT = ev.QueueResult(AT, "leave", 75)


def at_main(*, caller: str = CALLER, language: str = "ko") -> CallState:
    """A call waiting at ``main`` that has never been in a queue."""
    return replace(listening_at("main", turn=1, caller=caller, language=language), queued_at=None)


def waited(seconds: int, position: int | None = 3, minutes: int | None = 4) -> ev.QueueWaited:
    return ev.QueueWaited(AT, seconds, position, minutes)


def position(where: int = 3, minutes: int = 4, language: str = "ko") -> act.Prompt:
    return message(MessageKey.QUEUE_POSITION, language, position=str(where), minutes=str(minutes))


def escalated(
    node: ChatNode = CHAT, *, since: datetime = AT, language: str = "ko"
) -> tuple[act.Action, ...]:
    """What entering ``node`` does for `CALLER`, who can be texted, waiting since ``since``."""
    said = () if node.prompt is None else (act.Prompt(node.prompt[language], language),)
    return (
        act.NodeEntered(node.id, "chat"),
        *said,
        act.EscalateToChat(node.id, node.queue, CALLER, language, since),
        message(MessageKey.CHAT_LINK_SENT, language),
        act.Outcome("escalated", "chat"),
        act.Hangup(),
    )


# --- the chat node ----------------------------------------------------------------------------


def test_menu_option_to_a_chat_node_escalates_to_chat_and_ends_the_call() -> None:
    state, actions = step(MENU, at_main(), ev.DigitsEntered(AT, "3"))

    assert actions == (
        act.NodeEntered("chat", "chat"),
        act.Prompt("채팅 상담으로 안내해 드리겠습니다.", "ko"),
        act.EscalateToChat("chat", "general", CALLER, "ko", AT),
        act.Prompt(
            "상담 채팅 링크를 문자로 보내드렸습니다. 링크를 여시거나 문자에 답장하시면 "
            "상담원이 이어서 도와드립니다. 전화를 끊겠습니다.",
            "ko",
        ),
        act.Outcome("escalated", "chat"),
        act.Hangup(),
    )
    assert (state.phase, state.node, state.turn) == (PHASE_ENDED, "chat", 1)
    assert (state.prompts, state.confirming) == ((), None)


def test_chat_node_without_a_prompt_says_only_that_the_link_is_sent() -> None:
    state, actions = step(MENU, at_main(), ev.DigitsEntered(AT, "4"))

    assert actions == escalated(BARE_CHAT)
    assert prompts(actions) == [MENU.messages["chat_link_sent"]["ko"]]
    assert state.phase == PHASE_ENDED


def test_english_caller_hears_english_and_gets_an_english_chat() -> None:
    _, actions = step(MENU, at_main(language="en"), ev.DigitsEntered(AT, "3"))

    assert actions == escalated(language="en")
    assert prompts(actions) == [
        "Let's continue by chat.",
        "We have texted you a link to a chat with an agent. Open it, or simply reply to "
        "the text, and we will carry on from here. Goodbye for now.",
    ]


def test_chat_node_at_the_start_of_a_call_escalates_the_new_caller() -> None:
    menu = waiting_menu(CHAT, start="chat")

    state, actions = step(menu, new_call(menu), ev.CallStarted(AT, CALLER, LINE_NUMBER))

    assert actions == escalated()
    assert state.phase == PHASE_ENDED


def test_caller_who_waited_earlier_in_the_call_waits_for_the_chat_from_now() -> None:
    # Left `PLACE` in line earlier in the call (served, or the line failed): that wait is over.
    back_at_main = listening_at("main", turn=4)

    _, actions = step(MENU, back_at_main, ev.DigitsEntered(AT, "3"))

    assert actions == escalated(since=AT)


def test_an_escalated_call_waits_for_nothing_and_ignores_later_events() -> None:
    state, _ = step(MENU, at_main(), ev.DigitsEntered(AT, "3"))

    assert current_listen(MENU, state) is None
    assert step(MENU, state, ev.DigitsEntered(AT, "1")) == (state, ())
    assert step(MENU, state, waited(60)) == (state, ())


# --- a caller who cannot be texted ------------------------------------------------------------


@pytest.mark.parametrize("caller", NOT_E164)
def test_caller_without_a_mobile_number_hears_chat_unavailable_and_goes_to_next(
    caller: str,
) -> None:
    state, actions = step(MENU, at_main(caller=caller), ev.DigitsEntered(AT, "3"))

    assert actions == (
        act.NodeEntered("chat", "chat"),
        message(MessageKey.CHAT_UNAVAILABLE),
        act.FellBack("chat", "bye", "no number to text"),
        *bye(),
    )
    assert not [a for a in actions if isinstance(a, act.EscalateToChat)]
    assert (state.phase, state.node) == (PHASE_ENDED, "bye")


def test_caller_without_a_mobile_number_and_no_next_hears_goodbye() -> None:
    state, actions = step(MENU, at_main(caller="anonymous"), ev.DigitsEntered(AT, "4"))

    assert actions == (
        act.NodeEntered("bare_chat", "chat"),
        message(MessageKey.CHAT_UNAVAILABLE),
        act.FellBack("bare_chat", None, "no number to text"),
        message(MessageKey.GOODBYE),
        act.Outcome("completed"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_caller_without_a_mobile_number_goes_on_to_wait_at_next() -> None:
    menu = waiting_menu(CHAT_MAIN, replace(CHAT, next="line"))

    state, actions = step(menu, at_main(caller="client:alice"), ev.DigitsEntered(AT, "3"))

    assert actions == (
        act.NodeEntered("chat", "chat"),
        message(MessageKey.CHAT_UNAVAILABLE),
        act.FellBack("chat", "line", "no number to text"),
        act.NodeEntered("line", "queue"),
        act.Enqueue("general", 2, "line", AT),
    )
    assert (state.phase, state.node, state.turn) == (PHASE_QUEUED, "line", 2)


def test_chat_unavailable_is_said_in_the_call_language() -> None:
    _, actions = step(MENU, at_main(caller="", language="en"), ev.DigitsEntered(AT, "4"))

    assert prompts(actions) == [
        "Sorry, we cannot text a chat link to the number you are calling from.",
        "Thank you for calling. Goodbye.",
    ]


# --- the chat offered in the line -------------------------------------------------------------


def test_chat_is_not_offered_before_offer_chat_after() -> None:
    state, actions = step(MENU, queued(turn=3), waited(29))

    assert actions == (position(), act.Hold(45))
    assert state == queued(turn=3)


def test_chat_is_offered_once_the_wait_reaches_offer_chat_after() -> None:
    state, actions = step(MENU, queued(turn=3), waited(30))

    assert actions == (
        position(),
        message(MessageKey.QUEUE_OFFER_CHAT),
        act.Offer(3, 5),
        act.Hold(45),
    )
    assert state == queued(turn=3)


def test_chat_offer_follows_the_callback_offer_with_one_offer_to_answer() -> None:
    _, actions = step(MENU, queued(turn=3), waited(60))

    assert actions == (
        position(),
        message(MessageKey.QUEUE_OFFER_CALLBACK),
        message(MessageKey.QUEUE_OFFER_CHAT),
        act.Offer(3, 5),
        act.Hold(45),
    )
    assert [a for a in actions if isinstance(a, act.Offer)] == [act.Offer(3, 5)]


def test_chat_offer_is_said_in_the_call_language() -> None:
    _, actions = step(MENU, queued(language="en"), waited(30))

    assert actions[1] == act.Prompt("To continue by text chat instead, press 2.", "en")


def test_chat_offered_from_the_first_announcement_without_a_callback() -> None:
    _, actions = step(MENU, queued("chat_line"), waited(0, None, None))

    assert actions == (
        message(MessageKey.QUEUE_WAIT_UNKNOWN),
        message(MessageKey.QUEUE_OFFER_CHAT),
        act.Offer(1, 5),
        act.Hold(30),
    )


@pytest.mark.parametrize("caller", NOT_E164)
def test_caller_without_a_mobile_number_is_never_offered_the_chat(caller: str) -> None:
    _, actions = step(MENU, queued(turn=3, caller=caller), waited(60))

    assert actions == (
        position(),
        message(MessageKey.QUEUE_OFFER_CALLBACK),
        act.Offer(3, 5),
        act.Hold(45),
    )


def test_caller_without_a_mobile_number_in_a_chat_only_line_hears_no_offer() -> None:
    _, actions = step(MENU, queued("chat_line", caller="anonymous"), waited(120))

    assert actions == (position(), act.Hold(30))


def test_queue_without_offer_chat_never_offers_the_chat() -> None:
    _, actions = step(MENU, queued("line"), waited(7200))

    assert actions == (position(), act.Hold(30))
    assert message(MessageKey.QUEUE_OFFER_CHAT) not in actions


# --- key 2 in the line ------------------------------------------------------------------------


def test_key_2_at_the_chat_offer_takes_the_caller_out_of_the_line_for_the_chat() -> None:
    state, actions = step(MENU, queued(turn=3), ev.DigitsEntered(AT, "2"))

    assert actions == (act.Leave(),)
    assert state == queued(turn=3, queue_exit="chat")


def test_key_1_in_a_line_offering_both_still_leaves_for_a_callback() -> None:
    state, actions = step(MENU, queued(turn=3), ev.DigitsEntered(AT, "1"))

    assert actions == (act.Leave(),)
    assert state.queue_exit == "callback"


def test_key_2_in_a_line_without_a_chat_offer_is_a_no_match() -> None:
    state, actions = step(MENU, queued("line", turn=3), ev.DigitsEntered(AT, "2"))

    assert actions == (message(MessageKey.NO_MATCH),)
    assert state == queued("line", turn=3)


def test_key_2_in_a_line_with_only_a_callback_offer_is_a_no_match() -> None:
    menu = waiting_menu(CHAT_MAIN, CHAT)  # the waiting menu's `agents`: callback offer only

    state, actions = step(menu, queued(turn=3), ev.DigitsEntered(AT, "2"))

    assert actions == (message(MessageKey.NO_MATCH),)
    assert state.queue_exit is None


@pytest.mark.parametrize("caller", ["anonymous", "client:alice"])
def test_key_2_from_a_caller_without_a_mobile_number_is_a_no_match(caller: str) -> None:
    state, actions = step(MENU, queued(turn=3, caller=caller), ev.DigitsEntered(AT, "2"))

    assert actions == (message(MessageKey.NO_MATCH),)
    assert state == queued(turn=3, caller=caller)


def test_a_key_after_the_caller_is_leaving_for_the_chat_does_nothing() -> None:
    leaving = queued(queue_exit="chat")

    assert step(MENU, leaving, ev.DigitsEntered(AT, "1")) == (leaving, ())
    assert step(MENU, leaving, waited(60)) == (leaving, ())


# --- leaving the line for the chat ------------------------------------------------------------


def test_leaving_for_the_chat_records_it_and_escalates_at_the_original_place() -> None:
    state, actions = step(MENU, queued(turn=3, queue_exit="chat"), LEFT_FOR_CHAT)

    assert actions == (
        act.QueueLeft("agents", "general", "chat", 75),
        act.NodeEntered("chat", "chat"),
        act.Prompt("채팅 상담으로 안내해 드리겠습니다.", "ko"),
        act.EscalateToChat("chat", "general", CALLER, "ko", PLACE),
        message(MessageKey.CHAT_LINK_SENT),
        act.Outcome("escalated", "chat"),
        act.Hangup(),
    )
    assert (state.phase, state.node) == (PHASE_ENDED, "chat")


def test_english_caller_leaving_for_the_chat_gets_an_english_chat() -> None:
    english = queued(queue_exit="chat", language="en")

    _, actions = step(MENU, english, LEFT_FOR_CHAT)

    assert actions[1:] == escalated(since=PLACE, language="en")


def test_caller_hanging_up_after_pressing_2_is_recorded_as_a_hang_up() -> None:
    state, actions = step(MENU, queued(queue_exit="chat"), ev.QueueResult(AT, "hangup", 80))

    assert actions == (
        act.QueueLeft("agents", "general", "hangup", 80),
        act.Outcome("abandoned", "hangup after 80s"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_whole_wait_from_joining_the_line_to_the_chat_keeps_the_place_in_line() -> None:
    joined = AT - timedelta(minutes=2)
    later = AT + timedelta(minutes=1)

    state, actions = step(MENU, at_main(), ev.DigitsEntered(joined, "0"))
    assert actions[-1] == act.Enqueue("general", 2, "agents", place=joined)
    state, actions = step(MENU, state, ev.QueueWaited(AT, 30, 2, 3))
    assert message(MessageKey.QUEUE_OFFER_CHAT) in actions
    state, actions = step(MENU, state, ev.DigitsEntered(AT, "2"))
    assert actions == (act.Leave(),)
    state, actions = step(MENU, state, ev.QueueResult(later, "leave", 180))

    assert actions[0] == act.QueueLeft("agents", "general", "chat", 180)
    assert act.EscalateToChat("chat", "general", CALLER, "ko", joined) in actions
    assert state.phase == PHASE_ENDED


def test_chat_node_leading_back_to_the_line_rejoins_it_for_a_caller_not_to_be_texted() -> None:
    menu = waiting_menu(CHAT_MAIN, CHAT_AGENTS, replace(CHAT, next="agents"))

    state, actions = step(menu, at_main(caller="anonymous"), ev.DigitsEntered(AT, "3"))

    assert actions[-1] == act.Enqueue("general", 2, "agents", place=AT)
    assert (state.phase, state.node) == (PHASE_QUEUED, "agents")
    _, actions = step(menu, state, waited(60))
    assert message(MessageKey.QUEUE_OFFER_CHAT) not in actions
