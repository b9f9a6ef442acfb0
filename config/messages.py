"""Built-in system messages: what the IVR says besides the menu's own prompts, per language.

A menu may override any of them under its top-level ``messages`` key; a menu in a language that
has no built-in texts here must define every message itself. Some messages hold placeholders in
braces (``{position}``, ``{slot}``, ...), filled in at the moment they are said: every text of
such a message must contain each of its placeholders (`placeholders`). SMS texts are sent as
text messages and never synthesized (`is_spoken`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class MessageKey(StrEnum):
    """The system messages the engine plays; the values are the keys of ``Menu.messages``."""

    ERROR = "error"
    """Apology after an internal failure, before the call goes to the menu's ``fallback``."""
    NO_INPUT = "no_input"
    """Re-prompt when the caller pressed or said nothing (a node's ``no_input_prompt`` wins)."""
    NO_MATCH = "no_match"
    """Re-prompt when the input matched nothing (a node's ``no_match_prompt`` wins)."""
    GOODBYE = "goodbye"
    """Said before hanging up when the flow ends without a prompt of its own."""
    TRANSFER_FAILED = "transfer_failed"
    """A transfer did not connect."""
    QUEUE_UNAVAILABLE = "queue_unavailable"
    """The queue could not take the call."""
    CONFIRM = "confirm"
    """Reads a half-sure spoken answer back (in place of ``{choice}``) and asks yes or no."""
    QUEUE_POSITION = "queue_position"
    """The waiting caller's place in line (``{position}``) and expected wait (``{minutes}``)."""
    QUEUE_WAIT_UNKNOWN = "queue_wait_unknown"
    """Said in place of ``queue_position`` while the expected wait is not known."""
    QUEUE_OFFER_CALLBACK = "queue_offer_callback"
    """Offers a callback that keeps the caller's place: key 1."""
    CALLBACK_NUMBER_CONFIRM = "callback_number_confirm"
    """Reads the caller's number back (``{number}``): 1 to be called there, 2 for another."""
    CALLBACK_NUMBER_ENTER = "callback_number_enter"
    """Asks for the number to call back, ended with the pound key."""
    CALLBACK_QUEUED = "callback_queued"
    """A callback that keeps the caller's place in line is taken."""
    CALLBACK_SMS_NOTE = "callback_sms_note"
    """Said after ``callback_queued`` or ``callback_booked`` when an SMS confirms it."""
    CALLBACK_SLOT_OPTION = "callback_slot_option"
    """One offered slot (``{slot}``) and the key that books it (``{key}``)."""
    CALLBACK_SLOT_DECLINE = "callback_slot_decline"
    """Said after the slots: the key (``{key}``) for none of them."""
    CALLBACK_NO_SLOTS = "callback_no_slots"
    """No slot is free within the node's ``days_ahead``."""
    CALLBACK_BOOKED = "callback_booked"
    """The callback is booked for ``{slot}``."""
    CALLBACK_OPEN = "callback_open"
    """The caller already has a callback at ``{slot}``: 1 keeps it, 2 cancels it."""
    CALLBACK_CANCELLED = "callback_cancelled"
    """The open callback is cancelled."""
    CALLBACK_KEPT = "callback_kept"
    """The open callback is kept."""
    CALLBACK_GREETING = "callback_greeting"
    """What the customer hears on answering our callback call, before the agent joins."""
    AGENT_WHISPER_CALL = "agent_whisper_call"
    """What an agent hears on answering, before a waiting caller joins."""
    AGENT_WHISPER_CALLBACK = "agent_whisper_callback"
    """What an agent hears on answering a callback assignment, while the customer is rung."""
    AGENT_CONTACT_GONE = "agent_contact_gone"
    """The contact left before the agent answered: the agent's call ends."""
    SURVEY_THANKS = "survey_thanks"
    """Said after a survey rating when the node has no ``thanks`` of its own."""
    SMS_CALLBACK_QUEUED = "sms_callback_queued"
    """SMS confirming a callback that keeps the caller's place."""
    SMS_CALLBACK_BOOKED = "sms_callback_booked"
    """SMS confirming a callback booked for ``{slot}``."""
    QUEUE_OFFER_CHAT = "queue_offer_chat"
    """Offers to continue by text chat instead of waiting: key 2."""
    CHAT_LINK_SENT = "chat_link_sent"
    """The chat link is on its way by SMS; said before the call ends."""
    CHAT_UNAVAILABLE = "chat_unavailable"
    """No text can reach the caller (no mobile number shown): the call goes on without chat."""
    SMS_CHAT_LINK = "sms_chat_link"
    """SMS with the customer's personal chat ``{link}``; a reply joins the same chat."""


CHOICE_PLACEHOLDER: Final = "{choice}"
"""Where the ``confirm`` message reads the heard choice back; every text of it must have one."""
POSITION_PLACEHOLDER: Final = "{position}"
"""The caller's place in line, as a number (1 is next)."""
MINUTES_PLACEHOLDER: Final = "{minutes}"
"""The expected wait in whole minutes."""
NUMBER_PLACEHOLDER: Final = "{number}"
"""The phone number a callback would go to, read back digit by digit."""
SLOT_PLACEHOLDER: Final = "{slot}"
"""A callback time slot as spoken or written, e.g. "내일 오후 2시"."""
KEY_PLACEHOLDER: Final = "{key}"
"""The keypad key that picks an offered choice."""
LINK_PLACEHOLDER: Final = "{link}"
"""The customer's personal chat link (an SMS text)."""

PLACEHOLDER_MEANINGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        CHOICE_PLACEHOLDER: "where the heard choice is read back",
        POSITION_PLACEHOLDER: "where the caller's place in line is said",
        MINUTES_PLACEHOLDER: "where the expected wait in minutes is said",
        NUMBER_PLACEHOLDER: "where the callback number is read back",
        SLOT_PLACEHOLDER: "where the callback time is said",
        KEY_PLACEHOLDER: "where the key to press is said",
        LINK_PLACEHOLDER: "where the chat link goes",
    }
)
"""What each placeholder stands for, in the words of the error that asks for it."""

_PLACEHOLDERS: Final[Mapping[MessageKey, tuple[str, ...]]] = MappingProxyType(
    {
        MessageKey.CONFIRM: (CHOICE_PLACEHOLDER,),
        MessageKey.QUEUE_POSITION: (POSITION_PLACEHOLDER, MINUTES_PLACEHOLDER),
        MessageKey.CALLBACK_NUMBER_CONFIRM: (NUMBER_PLACEHOLDER,),
        MessageKey.CALLBACK_SLOT_OPTION: (SLOT_PLACEHOLDER, KEY_PLACEHOLDER),
        MessageKey.CALLBACK_SLOT_DECLINE: (KEY_PLACEHOLDER,),
        MessageKey.CALLBACK_BOOKED: (SLOT_PLACEHOLDER,),
        MessageKey.CALLBACK_OPEN: (SLOT_PLACEHOLDER,),
        MessageKey.SMS_CALLBACK_BOOKED: (SLOT_PLACEHOLDER,),
        MessageKey.SMS_CHAT_LINK: (LINK_PLACEHOLDER,),
    }
)

SMS_MESSAGES: Final = frozenset(
    {MessageKey.SMS_CALLBACK_QUEUED, MessageKey.SMS_CALLBACK_BOOKED, MessageKey.SMS_CHAT_LINK}
)
"""Messages sent as text messages: never synthesized."""


def placeholders(key: MessageKey) -> tuple[str, ...]:
    """The placeholders (with their braces) every text of message ``key`` contains.

    A message with placeholders is completed when it is said (``text.replace(placeholder,
    value)``, not ``str.format``: an admin's text may hold other braces, said as written), so
    only a message without any can be synthesized ahead of the call.
    """
    return _PLACEHOLDERS.get(key, ())


def is_spoken(key: MessageKey) -> bool:
    """Whether message ``key`` is said on a call (rather than sent as an SMS)."""
    return key not in SMS_MESSAGES


# Short sentences: they are synthesized for 8 kHz phone audio, where long ones blur. The SMS
# texts stay within one 70-character segment (Korean is sent as UCS-2) once a slot is filled in.
BUILTIN_MESSAGES: Final[Mapping[MessageKey, Mapping[str, str]]] = {
    MessageKey.ERROR: {
        "ko": "죄송합니다. 일시적인 오류가 발생했습니다.",
        "en": "We're sorry. A temporary error has occurred.",
    },
    MessageKey.NO_INPUT: {
        "ko": "입력이 확인되지 않았습니다. 다시 한 번 입력해 주세요.",
        "en": "Sorry, we didn't receive a response. Please try again.",
    },
    MessageKey.NO_MATCH: {
        "ko": "죄송합니다. 입력하신 내용을 확인하지 못했습니다. 다시 한 번 입력해 주세요.",
        "en": "Sorry, we didn't understand that. Please try again.",
    },
    MessageKey.GOODBYE: {
        "ko": "이용해 주셔서 감사합니다. 안녕히 계세요.",
        "en": "Thank you for calling. Goodbye.",
    },
    MessageKey.TRANSFER_FAILED: {
        "ko": "죄송합니다. 지금은 전화를 연결해 드릴 수 없습니다.",
        "en": "Sorry, we couldn't connect your call right now.",
    },
    MessageKey.QUEUE_UNAVAILABLE: {
        "ko": "죄송합니다. 지금은 상담원 연결이 어렵습니다. 잠시 후 다시 전화해 주세요.",
        "en": "Sorry, no agent can take your call right now. Please call again later.",
    },
    MessageKey.CONFIRM: {
        "ko": (
            "{choice}, 맞습니까? "
            "맞으면 예라고 하시거나 1번을, 아니면 아니오라고 하시거나 2번을 눌러 주세요."
        ),
        "en": "Did you say {choice}? Say yes or press 1, or say no or press 2.",
    },
    MessageKey.QUEUE_POSITION: {
        "ko": "고객님의 대기 순서는 {position}번째이며, 예상 대기 시간은 약 {minutes}분입니다.",
        "en": "You are number {position} in line. The expected wait is about {minutes} minutes.",
    },
    MessageKey.QUEUE_WAIT_UNKNOWN: {
        "ko": "잠시만 기다려 주시면 상담원을 연결해 드리겠습니다.",
        "en": "Please stay on the line. The next available agent will take your call.",
    },
    MessageKey.QUEUE_OFFER_CALLBACK: {
        "ko": "기다리지 않고 전화를 받으시려면 1번을 눌러 주세요. 대기 순서는 그대로 유지됩니다.",
        "en": "To get a call back instead of waiting, press 1. You will keep your place in line.",
    },
    MessageKey.CALLBACK_NUMBER_CONFIRM: {
        "ko": (
            "{number} 번호로 전화드릴까요? 맞으면 1번, 다른 번호로 받으시려면 2번을 눌러 주세요."
        ),
        "en": "Shall we call you at {number}? Press 1 for yes, or 2 for a different number.",
    },
    MessageKey.CALLBACK_NUMBER_ENTER: {
        "ko": "전화받으실 번호를 입력하신 뒤 우물 정자를 눌러 주세요.",
        "en": "Please enter the number we should call, then press the pound key.",
    },
    MessageKey.CALLBACK_QUEUED: {
        "ko": "접수되었습니다. 순서가 되면 상담원이 전화드리겠습니다.",
        "en": "Thank you. An agent will call you back when it's your turn.",
    },
    MessageKey.CALLBACK_SMS_NOTE: {
        "ko": "접수 내용은 문자로 보내 드리겠습니다.",
        "en": "We'll send you a text message to confirm.",
    },
    MessageKey.CALLBACK_SLOT_OPTION: {
        # "에" fits any slot text; 은/는 would depend on its last syllable.
        "ko": "{slot}에 받으시려면 {key}번.",
        "en": "For {slot}, press {key}.",
    },
    MessageKey.CALLBACK_SLOT_DECLINE: {
        "ko": "원하시는 시간이 없으시면 {key}번을 눌러 주세요.",
        "en": "If none of these times suits you, press {key}.",
    },
    MessageKey.CALLBACK_NO_SLOTS: {
        "ko": "죄송합니다. 지금은 예약 가능한 시간이 없습니다.",
        "en": "Sorry, there are no callback times available right now.",
    },
    MessageKey.CALLBACK_BOOKED: {
        "ko": "{slot}에 전화드리겠습니다.",
        "en": "Your callback is booked for {slot}.",
    },
    MessageKey.CALLBACK_OPEN: {
        "ko": (
            "{slot}에 예약된 상담 전화가 있습니다. "
            "예약을 유지하시려면 1번, 취소하시려면 2번을 눌러 주세요."
        ),
        "en": (
            "You already have a callback booked for {slot}. "
            "To keep it, press 1. To cancel it, press 2."
        ),
    },
    MessageKey.CALLBACK_CANCELLED: {
        "ko": "예약하신 상담 전화가 취소되었습니다.",
        "en": "Your callback has been cancelled.",
    },
    MessageKey.CALLBACK_KEPT: {
        "ko": "예약하신 상담 전화는 그대로 유지됩니다.",
        "en": "Your callback stays booked.",
    },
    MessageKey.CALLBACK_GREETING: {
        "ko": (
            "안녕하세요. 요청하신 상담 전화입니다. 잠시만 기다리시면 상담원을 연결해 드리겠습니다."
        ),
        "en": "Hello, this is the call back you asked for. Please hold for an agent.",
    },
    MessageKey.AGENT_WHISPER_CALL: {
        "ko": "대기 중인 고객을 연결합니다.",
        "en": "Connecting you to a waiting caller.",
    },
    MessageKey.AGENT_WHISPER_CALLBACK: {
        "ko": "요청하신 콜백 고객에게 전화를 걸고 있습니다. 잠시 기다려 주세요.",
        "en": "Calling back a customer who asked for it. Please hold.",
    },
    MessageKey.AGENT_CONTACT_GONE: {
        "ko": "고객이 통화를 종료하여 연결이 취소되었습니다.",
        "en": "The customer is no longer waiting. This call will end.",
    },
    MessageKey.SURVEY_THANKS: {
        "ko": "소중한 의견 감사합니다.",
        "en": "Thank you for your feedback.",
    },
    MessageKey.SMS_CALLBACK_QUEUED: {
        "ko": "상담 전화 요청이 접수되었습니다. 순서가 되면 상담원이 전화드리겠습니다.",
        "en": "Your callback request is in. An agent will call you when it's your turn.",
    },
    MessageKey.SMS_CALLBACK_BOOKED: {
        "ko": "상담 전화가 예약되었습니다. {slot}에 상담원이 전화드리겠습니다.",
        "en": "Your callback is booked for {slot}.",
    },
    MessageKey.QUEUE_OFFER_CHAT: {
        "ko": "문자 채팅으로 상담을 이어가시려면 2번을 눌러 주세요.",
        "en": "To continue by text chat instead, press 2.",
    },
    MessageKey.CHAT_LINK_SENT: {
        "ko": (
            "상담 채팅 링크를 문자로 보내드렸습니다. 링크를 여시거나 문자에 답장하시면 "
            "상담원이 이어서 도와드립니다. 전화를 끊겠습니다."
        ),
        "en": (
            "We have texted you a link to a chat with an agent. Open it, or simply reply to "
            "the text, and we will carry on from here. Goodbye for now."
        ),
    },
    MessageKey.CHAT_UNAVAILABLE: {
        "ko": "죄송합니다. 이 전화번호로는 채팅 링크를 보내드릴 수 없습니다.",
        "en": "Sorry, we cannot text a chat link to the number you are calling from.",
    },
    MessageKey.SMS_CHAT_LINK: {
        "ko": "[상담] 채팅으로 상담을 이어가세요: {link} (이 문자에 답장하셔도 됩니다)",
        "en": "Continue with an agent by chat: {link} (or just reply to this text)",
    },
}


def builtin_message(key: MessageKey, language: str) -> str | None:
    """The built-in text of message ``key`` in ``language``, or None when there is none."""
    return BUILTIN_MESSAGES[key].get(language)
