"""A customer's text in a Conversation, delivered the way Twilio's Conversations webhook does.

When an SMS participant texts, Twilio adds the message to the conversation and POSTs the
``onMessageAdded`` post-event webhook to the configured post-event URL as a signed form:
``EventType``, ``AccountSid``, ``ChatServiceSid``, ``ConversationSid``, ``MessageSid``,
``ParticipantSid``, ``Index``, ``Author`` (the participant's phone number for SMS), ``Body``,
``Attributes``, ``DateCreated`` (ISO 8601), ``Source`` (``SMS``), ``RetryCount``,
``WebhookType`` and ``WebhookSid``. Post-event webhooks are notifications: Twilio ignores the
answer's body, and waits at most 5 seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from telephony.simulator.scenario import new_sid
from telephony.simulator.texts import post_signed

CONVERSATIONS_PATH: Final = "/twilio/conversations"
TIMEOUT_SECONDS: Final = 5.0
"""Twilio waits this long for a Conversations webhook's answer."""


def message_added_form(
    *,
    account_sid: str,
    conversation_sid: str,
    author: str,
    body: str,
    message_sid: str | None = None,
    participant_sid: str | None = None,
    index: int = 0,
    source: str = "SMS",
    chat_service_sid: str | None = None,
    at: datetime | None = None,
) -> dict[str, str]:
    """The form of an ``onMessageAdded`` post-event webhook, with fresh SIDs where none given."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "EventType": "onMessageAdded",
        "AccountSid": account_sid,
        "ChatServiceSid": chat_service_sid or new_sid("IS"),
        "ConversationSid": conversation_sid,
        "MessageSid": message_sid or new_sid("IM"),
        "ParticipantSid": participant_sid or new_sid("MB"),
        "Index": str(index),
        "Author": author,
        "Body": body,
        "Attributes": "{}",
        "DateCreated": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "Source": source,
        "RetryCount": "0",
        "WebhookType": "webhook",
        "WebhookSid": new_sid("WH"),
    }


async def send_conversation_message(
    server_url: str,
    public_url: str,
    account_sid: str,
    auth_token: str,
    conversation_sid: str,
    author: str,
    body: str,
    *,
    message_sid: str | None = None,
    participant_sid: str | None = None,
    index: int = 0,
) -> int:
    """Deliver a customer's message to ``server_url`` as Twilio would, signed for ``public_url``.

    Args:
        server_url: Where the server listens.
        public_url: Its public base URL (what the signature covers).
        account_sid: The ``AC…`` account.
        auth_token: Signs the request.
        conversation_sid: The conversation the message was added to.
        author: The customer's number (an SMS participant's ``Author``).
        body: What they wrote.
        message_sid: The ``IM…`` SID (fresh by default).
        participant_sid: The author's ``MB…`` SID (fresh by default).
        index: The message's index in the conversation.

    Returns:
        The HTTP status the server answered.

    Raises:
        SimulationError: The server could not be reached.

    """
    form = message_added_form(
        account_sid=account_sid,
        conversation_sid=conversation_sid,
        author=author,
        body=body,
        message_sid=message_sid,
        participant_sid=participant_sid,
        index=index,
    )
    status, _ = await post_signed(
        server_url,
        public_url,
        CONVERSATIONS_PATH,
        form,
        auth_token,
        TIMEOUT_SECONDS,
        "conversation message",
    )
    return status
