"""``chat`` nodes and a queue's chat offer: what a menu may say, and what it is refused for."""

from __future__ import annotations

from typing import Any

import pytest
from waiting_menu import check_refused, in_language, issues_of, waiting_menu

from config.loader import check_menu_file, load_menu_file, parse_menu
from config.menu import ChatNode, MenuNode, QueueNode
from config.messages import (
    BUILTIN_MESSAGES,
    SMS_MESSAGES,
    MessageKey,
    is_spoken,
    placeholders,
)
from config.settings import SHIPPED_MENU

CHAT_MESSAGES = (
    MessageKey.QUEUE_OFFER_CHAT,
    MessageKey.CHAT_LINK_SENT,
    MessageKey.CHAT_UNAVAILABLE,
    MessageKey.SMS_CHAT_LINK,
)
SPOKEN_CHAT_MESSAGES = CHAT_MESSAGES[:3]
CHAT_PROMPT = {"ko": "문자로 채팅 링크를 보내 드리겠습니다.", "en": "We'll text you a chat link."}


def chat_menu() -> dict[str, Any]:
    """The waiting menu with a ``chat`` node (option 2 of ``main``), offered by ``agents``."""
    data = waiting_menu()
    data["nodes"]["main"]["options"].append({"key": "2", "next": "chat"})
    data["nodes"]["chat"] = {
        "type": "chat",
        "queue": "general",
        "prompt": dict(CHAT_PROMPT),
        "next": "bye",
    }
    agents(data)["offer_chat"] = "chat"
    agents(data)["offer_chat_after"] = 30
    return data


def chat(data: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = data["nodes"]["chat"]
    return node


def agents(data: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = data["nodes"]["agents"]
    return node


def in_japanese(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` in Japanese alone, keypad only (no spoken slots or ratings are built in)."""
    data = in_language(data, "ja")
    for node in ("book", "rate"):
        del data["nodes"][node]["input"], data["nodes"][node]["speech"]
    return data


# --- chat nodes -------------------------------------------------------------------------------


def test_chat_node_keeps_its_queue_prompt_and_next() -> None:
    node = parse_menu(chat_menu()).node("chat")

    assert node == ChatNode(id="chat", queue="general", prompt=CHAT_PROMPT, next="bye")


def test_chat_node_with_its_queue_only_has_no_prompt_and_no_next() -> None:
    data = chat_menu()
    data["nodes"]["chat"] = {"type": "chat", "queue": "general"}

    node = parse_menu(data).node("chat")

    assert node == ChatNode(id="chat", queue="general", prompt=None, next=None)


def test_chat_node_without_a_queue_is_refused() -> None:
    data = chat_menu()
    del chat(data)["queue"]

    check_refused(data, "chat", "queue", "is required for a 'chat' node")


def test_chat_node_naming_an_unknown_queue_is_refused() -> None:
    data = chat_menu()
    chat(data)["queue"] = "vip"

    check_refused(data, "chat", "queue", "unknown queue 'vip' (declared queues: general)")


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("promt", "did you mean 'prompt'?"), ("nxt", "did you mean 'next'?")],
)
def test_misspelt_chat_node_key_is_refused_with_a_suggestion(key: str, suggestion: str) -> None:
    data = chat_menu()
    chat(data)[key] = "bye"

    check_refused(data, "chat", key, "is not a field of a 'chat' node", suggestion)


def test_field_of_another_node_type_on_a_chat_node_is_refused() -> None:
    data = chat_menu()
    chat(data)["max_wait"] = 60

    check_refused(data, "chat", "max_wait", "is not a field of a 'chat' node")


def test_chat_node_next_naming_an_unknown_node_is_refused() -> None:
    data = chat_menu()
    chat(data)["next"] = "nowhere"

    check_refused(data, "chat", "next", "names unknown node 'nowhere'")


def test_chat_node_prompt_lacking_a_menu_language_is_refused() -> None:
    data = chat_menu()
    chat(data)["prompt"] = {"ko": CHAT_PROMPT["ko"]}

    check_refused(data, "chat", "prompt", "lacks the 'en' text")


def test_chat_node_next_back_to_itself_is_refused_as_an_endless_loop() -> None:
    data = chat_menu()
    chat(data)["next"] = "chat"

    check_refused(data, "chat", "next", "without waiting for input", "chat → chat")


def test_chat_node_in_a_menu_of_a_language_without_built_in_texts_is_accepted() -> None:
    data = in_japanese(chat_menu())

    node = parse_menu(data).node("chat")

    assert node == ChatNode(id="chat", queue="general", prompt={"ja": "prompt text"}, next="bye")


# --- the queue's chat offer -------------------------------------------------------------------


def test_queue_node_keeps_its_chat_offer() -> None:
    node = parse_menu(chat_menu()).node("agents")

    assert isinstance(node, QueueNode)
    assert (node.offer_chat, node.offer_chat_after) == ("chat", 30)


def test_queue_node_without_a_chat_offer_offers_none() -> None:
    node = parse_menu(waiting_menu()).node("agents")

    assert isinstance(node, QueueNode)
    assert (node.offer_chat, node.offer_chat_after) == (None, 0)


def test_chat_offered_without_offer_chat_after_is_offered_from_the_first_announcement() -> None:
    data = chat_menu()
    del agents(data)["offer_chat_after"]

    node = parse_menu(data).node("agents")

    assert isinstance(node, QueueNode)
    assert (node.offer_chat, node.offer_chat_after) == ("chat", 0)


def test_offer_chat_naming_a_node_of_another_type_is_refused() -> None:
    data = chat_menu()
    agents(data)["offer_chat"] = "bye"

    issue = check_refused(data, "agents", "offer_chat", "must name a chat node")

    assert "'bye' is a hangup node" in issue.message


def test_offer_chat_naming_a_menu_node_is_refused_with_its_type() -> None:
    data = chat_menu()
    agents(data)["offer_chat"] = "main"

    check_refused(data, "agents", "offer_chat", "must name a chat node", "'main' is a menu node")


def test_offer_chat_naming_an_unknown_node_is_refused_once() -> None:
    data = chat_menu()
    agents(data)["offer_chat"] = "webchat"

    check_refused(data, "agents", "offer_chat", "names unknown node 'webchat'")


def test_offer_chat_after_without_offer_chat_is_refused() -> None:
    data = chat_menu()
    del agents(data)["offer_chat"]

    check_refused(data, "agents", "offer_chat_after", "only applies with offer_chat")


def test_chat_offer_after_the_caller_has_overflowed_is_refused() -> None:
    data = chat_menu()
    agents(data)["offer_chat_after"] = 900

    check_refused(data, "agents", "offer_chat_after", "never reached", "max_wait 900")


def test_chat_offer_just_before_max_wait_is_accepted() -> None:
    data = chat_menu()
    agents(data)["offer_chat_after"] = 899

    node = parse_menu(data).node("agents")

    assert isinstance(node, QueueNode) and node.offer_chat_after == 899


def test_chat_offer_in_a_queue_without_max_wait_may_come_late() -> None:
    data = chat_menu()
    for key in ("max_wait", "overflow"):
        del agents(data)[key]
    agents(data)["offer_chat_after"] = 7200

    node = parse_menu(data).node("agents")

    assert isinstance(node, QueueNode) and node.offer_chat_after == 7200


@pytest.mark.parametrize("seconds", [-1, 7201, "30", None])
def test_offer_chat_after_outside_0_to_7200_seconds_is_refused(seconds: object) -> None:
    data = chat_menu()
    agents(data)["offer_chat_after"] = seconds

    check_refused(data, "agents", "offer_chat_after", "from 0 to 7200")


def test_offer_chat_on_another_node_type_is_refused() -> None:
    data = chat_menu()
    data["nodes"]["main"]["offer_chat"] = "chat"

    check_refused(data, "main", "offer_chat", "not a field of a 'menu' node")


def test_queue_offering_a_chat_that_leads_back_to_the_queue_is_accepted() -> None:
    data = chat_menu()
    chat(data)["next"] = "agents"  # a caller who cannot be texted waits after all

    menu = parse_menu(data)

    assert menu.node("chat") == ChatNode("chat", "general", CHAT_PROMPT, "agents")
    node = menu.node("agents")
    assert isinstance(node, QueueNode) and node.offer_chat == "chat"


def test_chat_node_reached_only_through_a_chat_offer_is_reachable() -> None:
    data = chat_menu()
    data["nodes"]["main"]["options"].pop()  # no menu option leads to the chat any more

    assert "chat" in parse_menu(data).nodes


def test_chat_node_leading_back_through_a_say_node_is_still_an_endless_loop() -> None:
    data = chat_menu()
    data["nodes"]["sorry"] = {
        "type": "say",
        "prompt": {"ko": "문자를 보낼 수 없습니다.", "en": "We cannot text you."},
        "next": "chat",
    }
    chat(data)["next"] = "sorry"

    check_refused(data, "sorry", "next", "without waiting for input", "chat → sorry → chat")


# --- messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", CHAT_MESSAGES, ids=str)
def test_every_chat_message_is_built_in_in_korean_and_english(key: MessageKey) -> None:
    texts = BUILTIN_MESSAGES[key]

    assert set(texts) == {"ko", "en"}
    assert all(text.strip() for text in texts.values())
    assert parse_menu(chat_menu()).messages[key] == texts


def test_only_the_chat_link_sms_has_a_placeholder_and_is_not_spoken() -> None:
    assert placeholders(MessageKey.SMS_CHAT_LINK) == ("{link}",)
    assert MessageKey.SMS_CHAT_LINK in SMS_MESSAGES
    assert not is_spoken(MessageKey.SMS_CHAT_LINK)
    for key in SPOKEN_CHAT_MESSAGES:
        assert placeholders(key) == (), key
        assert is_spoken(key), key


@pytest.mark.parametrize("language", ["ko", "en"])
def test_built_in_chat_link_sms_holds_the_link(language: str) -> None:
    assert "{link}" in BUILTIN_MESSAGES[MessageKey.SMS_CHAT_LINK][language]


def test_chat_link_sms_override_keeping_the_link_replaces_the_built_in_text() -> None:
    data = chat_menu()
    data["messages"] = {"sms_chat_link": {"ko": "채팅 링크: {link}"}}

    texts = parse_menu(data).messages["sms_chat_link"]

    assert texts == {
        "ko": "채팅 링크: {link}",
        "en": BUILTIN_MESSAGES[MessageKey.SMS_CHAT_LINK]["en"],
    }


@pytest.mark.parametrize("language", ["ko", "en"])
def test_chat_link_sms_override_without_the_link_is_refused(language: str) -> None:
    data = chat_menu()
    data["messages"] = {"sms_chat_link": {language: "Chat with us at our website."}}

    check_refused(
        data,
        None,
        f"messages.sms_chat_link.{language}",
        "must contain {link}",
        "where the chat link goes",
    )


def test_spoken_chat_message_overrides_need_no_placeholder() -> None:
    data = chat_menu()
    data["messages"] = {
        "queue_offer_chat": {"en": "Press 2 to chat."},
        "chat_link_sent": {"en": "Check your texts."},
        "chat_unavailable": {"en": "We cannot text you."},
    }

    messages = parse_menu(data).messages

    assert messages["queue_offer_chat"]["en"] == "Press 2 to chat."
    assert messages["chat_link_sent"]["en"] == "Check your texts."
    assert messages["chat_unavailable"]["en"] == "We cannot text you."


@pytest.mark.parametrize("key", CHAT_MESSAGES, ids=str)
def test_menu_in_a_language_without_built_in_texts_must_define_each_chat_message(
    key: MessageKey,
) -> None:
    data = in_japanese(chat_menu())
    del data["messages"][key.value]

    check_refused(data, None, f"messages.{key.value}", "needs a 'ja' text: none is built in")


def test_misspelt_chat_message_key_is_refused_with_a_suggestion() -> None:
    data = chat_menu()
    data["messages"] = {"chat_link_send": {"ko": "링크를 보냈습니다."}}

    found = issues_of(data)

    assert [(i.node, i.field) for i in found] == [(None, "messages.chat_link_send")]
    assert "did you mean 'chat_link_sent'?" in found[0].message


# --- the shipped menu -------------------------------------------------------------------------


def test_shipped_menu_with_its_chat_offer_is_valid() -> None:
    assert check_menu_file(SHIPPED_MENU) == []


def test_shipped_menu_offers_a_text_chat_while_waiting_for_an_agent() -> None:
    menu = load_menu_file(SHIPPED_MENU)

    chat_node = menu.node("text_chat")
    queue = menu.node("agents")

    assert chat_node == ChatNode(id="text_chat", queue="general", prompt=None, next="agents")
    assert isinstance(queue, QueueNode)
    assert (queue.offer_chat, queue.offer_chat_after) == ("text_chat", 30)
    assert queue.max_wait is not None and queue.offer_chat_after < queue.max_wait
    assert "general" in menu.queues


def test_shipped_card_services_menu_leads_to_the_chat_with_key_4() -> None:
    node = load_menu_file(SHIPPED_MENU).node("card_services")

    assert isinstance(node, MenuNode)
    assert {option.key: option.next for option in node.options}["4"] == "text_chat"
