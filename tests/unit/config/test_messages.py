"""System messages: built in for Korean and English, placeholders kept in every override."""

from __future__ import annotations

import re

import pytest
from waiting_menu import check_refused, issues_of, waiting_menu

from config.loader import parse_menu
from config.messages import (
    BUILTIN_MESSAGES,
    PLACEHOLDER_MEANINGS,
    SMS_MESSAGES,
    MessageKey,
    is_spoken,
    placeholders,
)

WITH_PLACEHOLDERS = [key for key in MessageKey if placeholders(key)]
# Korean SMS is sent as UCS-2: 70 characters make one segment.
SMS_SEGMENT_CHARS = 70
A_LONG_SLOT = {"ko": "12월 30일(수) 오후 12시 30분", "en": "Wednesday, December 30 at 12:30 PM"}


def test_every_message_is_built_in_in_korean_and_english() -> None:
    assert set(BUILTIN_MESSAGES) == set(MessageKey)
    for key, texts in BUILTIN_MESSAGES.items():
        assert set(texts) == {"ko", "en"}, key
        assert all(text.strip() for text in texts.values()), key


def test_every_built_in_text_has_its_placeholders_and_no_others() -> None:
    for key, texts in BUILTIN_MESSAGES.items():
        for text in texts.values():
            assert sorted(re.findall(r"\{\w+\}", text)) == sorted(placeholders(key)), (key, text)


def test_placeholders_list_each_value_a_message_is_completed_with() -> None:
    assert placeholders(MessageKey.QUEUE_POSITION) == ("{position}", "{minutes}")
    assert placeholders(MessageKey.CALLBACK_SLOT_OPTION) == ("{slot}", "{key}")
    assert placeholders(MessageKey.CONFIRM) == ("{choice}",)
    assert placeholders(MessageKey.QUEUE_WAIT_UNKNOWN) == ()
    every = {p for key in MessageKey for p in placeholders(key)}
    assert every == set(PLACEHOLDER_MEANINGS)


def test_only_sms_texts_are_not_spoken() -> None:
    assert {key for key in MessageKey if not is_spoken(key)} == SMS_MESSAGES
    texts = {
        MessageKey.SMS_CALLBACK_QUEUED,
        MessageKey.SMS_CALLBACK_BOOKED,
        MessageKey.SMS_CHAT_LINK,
    }
    assert texts == SMS_MESSAGES


def test_built_in_sms_texts_fit_one_segment_with_a_long_slot() -> None:
    for key in SMS_MESSAGES:
        for lang, text in BUILTIN_MESSAGES[key].items():
            filled = text.replace("{slot}", A_LONG_SLOT[lang])
            limit = SMS_SEGMENT_CHARS if lang == "ko" else 160  # GSM-7 for English
            assert len(filled) <= limit, (key, lang, len(filled))


def test_menu_gets_every_new_message_built_in() -> None:
    messages = parse_menu(waiting_menu()).messages
    for key in MessageKey:
        assert messages[key] == BUILTIN_MESSAGES[key]


def test_override_keeping_its_placeholders_replaces_the_built_in_text() -> None:
    data = waiting_menu()
    text = "{position}번째 순서입니다. 약 {minutes}분 기다리시면 됩니다."
    data["messages"] = {"queue_position": {"ko": text}}
    position = parse_menu(data).messages["queue_position"]
    assert position == {"ko": text, "en": BUILTIN_MESSAGES[MessageKey.QUEUE_POSITION]["en"]}


@pytest.mark.parametrize("key", WITH_PLACEHOLDERS, ids=str)
def test_override_missing_a_placeholder_is_refused_naming_message_and_language(
    key: MessageKey,
) -> None:
    data = waiting_menu()
    first, *others = placeholders(key)
    data["messages"] = {key.value: {"en": " ".join(("Hello", *others))}}
    check_refused(data, None, f"messages.{key.value}.en", f"must contain {first}")


def test_override_missing_two_placeholders_names_both() -> None:
    data = waiting_menu()
    data["messages"] = {"queue_position": {"ko": "잠시만 기다려 주세요."}}
    found = [str(issue) for issue in issues_of(data)]
    assert found == [
        "field 'messages.queue_position.ko': must contain {position}, "
        "where the caller's place in line is said",
        "field 'messages.queue_position.ko': must contain {minutes}, "
        "where the expected wait in minutes is said",
    ]
