"""What the REST stand-in saw and did, as read-only values tests can count and compare.

Every request (with the status answered), every call placed and every message sent, every
status callback delivered; for the Conversations API, every conversation created, participant
added and message posted. ``dial_counts`` and ``duplicate_dials`` answer "was anyone called
twice?" directly, ``messages_in`` "what was posted to this conversation?".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from telephony.simulator.transcript import CallTranscript


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in answered.

    Attributes:
        method: ``GET`` or ``POST``.
        path: The path, e.g. ``/2010-04-01/Accounts/AC…/Calls.json``.
        query: Query parameters (a repeated one keeps its last value).
        form: Form parameters, each with every value it was sent with, in order.
        status: The HTTP status answered.
        at: When it arrived.

    """

    method: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, tuple[str, ...]]
    status: int
    at: datetime


@dataclass(frozen=True)
class SentCallback:
    """A status callback the stand-in sent (calls and messages).

    Attributes:
        sid: The call's or message's SID.
        event: The progress event (``initiated``, ``ringing``, ``answered``, ``completed``;
            ``sent``, ``delivered``, … for messages).
        status: The ``CallStatus`` or ``MessageStatus`` sent.
        sequence: ``SequenceNumber`` (calls; 0 for messages).
        url: The public URL it went to.
        http_status: What the receiver answered; None when it could not be reached.

    """

    sid: str
    event: str
    status: str
    sequence: int
    url: str
    http_status: int | None


@dataclass(frozen=True)
class PlacedCall:
    """A call created over REST, as it stands now.

    Attributes:
        sid: Its CallSid.
        to: The number called.
        from_: Our number.
        url: The TwiML URL for when it is answered.
        method: How that URL is requested.
        status_callback: Where progress goes (None: nowhere).
        status_events: The progress events asked for.
        timeout_seconds: How long it may ring.
        created_at: When the create request arrived.
        rest_status: The HTTP status the create request was answered with (201, or the
            injected fault's status; 0 when the fault held the answer past the client).
        status: Its current ``CallStatus``.
        duration_seconds: How long it was answered, once over.
        transcript: What a ``follow_twiml`` phone did; None for ``signal_only``.
        error: Why the simulation of the answered call failed, if it did.

    """

    sid: str
    to: str
    from_: str
    url: str
    method: str
    status_callback: str | None
    status_events: tuple[str, ...]
    timeout_seconds: int
    created_at: datetime
    rest_status: int
    status: str
    duration_seconds: int | None
    transcript: CallTranscript | None
    error: str | None


@dataclass(frozen=True)
class SentMessage:
    """A message created over REST."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    created_at: datetime
    status: str


@dataclass(frozen=True)
class CreatedConversation:
    """A Conversation created over REST, as it stands now.

    Attributes:
        sid: Its ``CH…`` SID.
        unique_name: The ``UniqueName`` it was created with, if any.
        friendly_name: Its ``FriendlyName``, if any.
        state: ``active``, ``inactive`` or ``closed``.
        created_at: When the create request arrived.

    """

    sid: str
    unique_name: str | None
    friendly_name: str | None
    state: str
    created_at: datetime


@dataclass(frozen=True)
class AddedParticipant:
    """An SMS participant added to a Conversation over REST.

    Attributes:
        sid: Its ``MB…`` SID.
        conversation_sid: The conversation it joined.
        address: ``MessagingBinding.Address``: the customer's number.
        proxy_address: ``MessagingBinding.ProxyAddress``: our number it texts with.
        created_at: When it was added.

    """

    sid: str
    conversation_sid: str
    address: str
    proxy_address: str
    created_at: datetime


@dataclass(frozen=True)
class PostedConversationMessage:
    """A message posted to a Conversation over REST.

    Attributes:
        sid: Its ``IM…`` SID.
        conversation_sid: The conversation it was posted to.
        index: Its place in the conversation, from 0.
        author: ``Author`` (``system`` when none was given).
        body: ``Body``.
        created_at: When it was posted.

    """

    sid: str
    conversation_sid: str
    index: int
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class StandInRecord:
    """A snapshot of everything the stand-in recorded, in the order it happened."""

    requests: tuple[RecordedRequest, ...]
    calls: tuple[PlacedCall, ...]
    messages: tuple[SentMessage, ...]
    callbacks: tuple[SentCallback, ...]
    conversations: tuple[CreatedConversation, ...] = ()
    participants: tuple[AddedParticipant, ...] = ()
    conversation_messages: tuple[PostedConversationMessage, ...] = ()

    def dials_to(self, number: str) -> tuple[PlacedCall, ...]:
        """The calls placed to ``number``."""
        return tuple(call for call in self.calls if call.to == number)

    def dial_counts(self) -> Mapping[str, int]:
        """Calls placed per number."""
        return Counter(call.to for call in self.calls)

    def duplicate_dials(self) -> Mapping[str, int]:
        """Numbers called more than once, with how often."""
        return {number: n for number, n in self.dial_counts().items() if n > 1}

    def callbacks_of(self, sid: str) -> tuple[SentCallback, ...]:
        """The status callbacks sent for one call or message."""
        return tuple(callback for callback in self.callbacks if callback.sid == sid)

    def messages_in(self, conversation_sid: str) -> tuple[PostedConversationMessage, ...]:
        """The messages posted to one conversation, in order."""
        return tuple(
            m for m in self.conversation_messages if m.conversation_sid == conversation_sid
        )

    def participants_of(self, conversation_sid: str) -> tuple[AddedParticipant, ...]:
        """The participants added to one conversation, in order."""
        return tuple(p for p in self.participants if p.conversation_sid == conversation_sid)
