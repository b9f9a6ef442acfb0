"""The stand-in for Twilio's Conversations API (``conversations.twilio.com/v1``), same account.

Served by the REST stand-in (``telephony.simulator.rest_api``) next to the ``2010-04-01``
resources, with the same HTTP Basic auth, so the real ``twilio`` client reaches it when both
domains' base URLs point at the stand-in. Endpoints (the default Conversation Service's
"shortened" URLs):

- ``POST /v1/Conversations`` (``UniqueName``, ``FriendlyName``): create; a unique name already
  taken is refused with 409 and Twilio's code 50353.
- ``GET /v1/Conversations/{Sid}``: fetch, by SID or unique name.
- ``POST /v1/Conversations/{Sid}`` (``State``, ``FriendlyName``): update; a ``closed``
  conversation takes no more participants or messages and frees its SMS bindings.
- ``POST /v1/Conversations/{Sid}/Participants`` (``MessagingBinding.Address``,
  ``MessagingBinding.ProxyAddress``): add an SMS participant. As at Twilio, an address and proxy
  address pair belongs to one open conversation at a time: 409 with code 50416 otherwise (in this
  conversation or another one).
- ``GET /v1/Conversations/{Sid}/Participants``, ``GET /v1/Conversations/{Sid}/Messages``: lists.
- ``POST /v1/Conversations/{Sid}/Messages`` (``Author``, ``Body``): post a message; it is recorded,
  not delivered anywhere.

Resources are shaped like Twilio's JSON (snake_case, ISO 8601 dates, absolute ``url``, lists with
a ``meta`` block); refusals use Twilio's error body. Codes Twilio documents are used (20404,
50353, 50390, 50416); other bad input gets the generic 20001. :attr:`ConversationStore.faults`
makes an operation's answer go wrong the way :class:`~telephony.simulator.phones.RestFault` does
for calls.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, cast

from aiohttp import web

from telephony.simulator.phones import RestFault
from telephony.simulator.rest_params import Form, RestRefusal, not_found, one, paging
from telephony.simulator.rest_record import (
    AddedParticipant,
    CreatedConversation,
    PostedConversationMessage,
)
from telephony.simulator.rest_resources import JsonObject, error_json
from telephony.simulator.scenario import new_sid

BASE: Final = "/v1/Conversations"
E164: Final = re.compile(r"\+[1-9]\d{1,14}")
CONVERSATION_SID: Final = re.compile(r"CH[0-9a-fA-F]{32}")
STATES: Final = ("active", "inactive", "closed")
MAX_BODY: Final = 1600
"""Characters a Conversation message body may have."""
MAX_FRIENDLY_NAME: Final = 256

UNIQUE_NAME_TAKEN: Final = 50353
"""Twilio: "Conversation with provided unique name already exists"."""
UNIQUE_NAME_IS_SID: Final = 50390
"""Twilio: "Unique name should not match conversation sid pattern"."""
BINDING_TAKEN: Final = 50416
"""Twilio: "A binding for this participant and proxy address already exists"."""
BAD_PARAMETER: Final = 20001
FAULT_CODE: Final = 20500

Operation = Literal["create", "participant", "message"]
"""What a fault in :attr:`ConversationStore.faults` applies to."""

State = Literal["active", "inactive", "closed"]


@dataclass
class Participant:
    """An SMS participant of a conversation."""

    sid: str
    address: str
    proxy_address: str
    created_at: datetime


@dataclass
class ConversationMessage:
    """A message of a conversation."""

    sid: str
    index: int
    author: str
    body: str
    participant_sid: str | None
    created_at: datetime


@dataclass
class Conversation:
    """One conversation and everything in it."""

    sid: str
    unique_name: str | None
    friendly_name: str | None
    created_at: datetime
    updated_at: datetime
    state: State = "active"
    participants: list[Participant] = field(default_factory=list)
    messages: list[ConversationMessage] = field(default_factory=list)


@dataclass(frozen=True)
class ConversationOrder:
    """A create-conversation request, checked."""

    unique_name: str | None
    friendly_name: str | None


@dataclass(frozen=True)
class ParticipantOrder:
    """An add-SMS-participant request, checked."""

    address: str
    proxy_address: str


@dataclass(frozen=True)
class MessageOrder:
    """A post-message request, checked."""

    author: str
    body: str


class ConversationStore:
    """The conversations of one account, the record of what was done, and injected faults."""

    def __init__(self, account_sid: str, clock: Callable[[], datetime]) -> None:
        """Hold ``account_sid``'s conversations; ``clock`` stamps them."""
        self.account_sid = account_sid
        self.clock = clock
        self.chat_service_sid = new_sid("IS")
        self.faults: dict[Operation, RestFault] = {}
        self._faults_used: dict[Operation, int] = {}
        self._conversations: dict[str, Conversation] = {}
        self._participants: list[AddedParticipant] = []
        self._messages: list[PostedConversationMessage] = []

    # --- operations --------------------------------------------------------------------------

    def create(self, order: ConversationOrder) -> Conversation:
        """A new conversation; a unique name already taken is refused (409, 50353)."""
        if order.unique_name is not None and self._by_unique_name(order.unique_name) is not None:
            raise RestRefusal(
                409, UNIQUE_NAME_TAKEN, "Conversation with provided unique name already exists"
            )
        now = self.clock()
        conversation = Conversation(
            sid=new_sid("CH"),
            unique_name=order.unique_name,
            friendly_name=order.friendly_name,
            created_at=now,
            updated_at=now,
        )
        self._conversations[conversation.sid] = conversation
        return conversation

    def conversation(self, sid_or_name: str, path: str) -> Conversation:
        """A conversation by SID or unique name (404 otherwise)."""
        found = self._conversations.get(sid_or_name) or self._by_unique_name(sid_or_name)
        if found is None:
            raise not_found(path)
        return found

    def update(
        self, conversation: Conversation, state: State | None, friendly_name: str | None
    ) -> Conversation:
        """Change a conversation's state or friendly name."""
        if state is not None:
            conversation.state = state
        if friendly_name is not None:
            conversation.friendly_name = friendly_name
        conversation.updated_at = self.clock()
        return conversation

    def add_participant(self, conversation: Conversation, order: ParticipantOrder) -> Participant:
        """Add an SMS participant; its binding must not be in an open conversation already."""
        _refuse_if_closed(conversation)
        for other in self._conversations.values():
            if other.state == "closed":
                continue
            for participant in other.participants:
                if (participant.address, participant.proxy_address) == (
                    order.address,
                    order.proxy_address,
                ):
                    raise RestRefusal(
                        409,
                        BINDING_TAKEN,
                        "A binding for this participant and proxy address already exists "
                        f"in Conversation {other.sid}",
                    )
        participant = Participant(
            sid=new_sid("MB"),
            address=order.address,
            proxy_address=order.proxy_address,
            created_at=self.clock(),
        )
        conversation.participants.append(participant)
        self._participants.append(
            AddedParticipant(
                sid=participant.sid,
                conversation_sid=conversation.sid,
                address=participant.address,
                proxy_address=participant.proxy_address,
                created_at=participant.created_at,
            )
        )
        return participant

    def post_message(self, conversation: Conversation, order: MessageOrder) -> ConversationMessage:
        """Add a message at the end of the conversation."""
        _refuse_if_closed(conversation)
        author = next((p.sid for p in conversation.participants if p.address == order.author), None)
        message = ConversationMessage(
            sid=new_sid("IM"),
            index=len(conversation.messages),
            author=order.author,
            body=order.body,
            participant_sid=author,
            created_at=self.clock(),
        )
        conversation.messages.append(message)
        self._messages.append(
            PostedConversationMessage(
                sid=message.sid,
                conversation_sid=conversation.sid,
                index=message.index,
                author=message.author,
                body=message.body,
                created_at=message.created_at,
            )
        )
        return message

    def fault_for(self, operation: Operation) -> RestFault | None:
        """The fault for this request, counting it against the fault's ``times``."""
        fault = self.faults.get(operation)
        if fault is None:
            return None
        used = self._faults_used.get(operation, 0)
        if fault.times is not None and used >= fault.times:
            return None
        self._faults_used[operation] = used + 1
        return fault

    # --- record ------------------------------------------------------------------------------

    def created(self) -> tuple[CreatedConversation, ...]:
        """Every conversation, as it stands now, in the order created."""
        return tuple(
            CreatedConversation(c.sid, c.unique_name, c.friendly_name, c.state, c.created_at)
            for c in self._conversations.values()
        )

    def participants(self) -> tuple[AddedParticipant, ...]:
        """Every participant added, in order."""
        return tuple(self._participants)

    def messages(self) -> tuple[PostedConversationMessage, ...]:
        """Every message posted, in order."""
        return tuple(self._messages)

    def _by_unique_name(self, name: str) -> Conversation | None:
        return next((c for c in self._conversations.values() if c.unique_name == name), None)


def _refuse_if_closed(conversation: Conversation) -> None:
    if conversation.state == "closed":
        raise RestRefusal(
            400, BAD_PARAMETER, f"Conversation {conversation.sid} is closed (not simulated code)"
        )


CONVERSATIONS: Final = web.AppKey("conversations", ConversationStore)


def add_routes(app: web.Application, store: ConversationStore) -> None:
    """Serve ``store`` on ``app`` under ``/v1/Conversations``."""
    app[CONVERSATIONS] = store
    router = app.router
    router.add_post(BASE, _create)
    router.add_get(f"{BASE}/{{sid}}", _fetch)
    router.add_post(f"{BASE}/{{sid}}", _update)
    router.add_post(f"{BASE}/{{sid}}/Participants", _add_participant)
    router.add_get(f"{BASE}/{{sid}}/Participants", _list_participants)
    router.add_post(f"{BASE}/{{sid}}/Messages", _post_message)
    router.add_get(f"{BASE}/{{sid}}/Messages", _list_messages)


# --- request parameters ---------------------------------------------------------------------


def conversation_order(form: Form) -> ConversationOrder:
    """A create-conversation request, or the refusal Twilio would answer."""
    unique_name = one(form, "UniqueName")
    if unique_name is not None and CONVERSATION_SID.fullmatch(unique_name):
        raise RestRefusal(
            400, UNIQUE_NAME_IS_SID, "Unique name should not match conversation sid pattern"
        )
    return ConversationOrder(unique_name=unique_name, friendly_name=_friendly_name(form))


def participant_order(form: Form) -> ParticipantOrder:
    """An add-SMS-participant request, or the refusal Twilio would answer."""
    if one(form, "Identity") is not None:
        raise RestRefusal(400, BAD_PARAMETER, "Chat participants (Identity) are not simulated")
    address = one(form, "MessagingBinding.Address")
    proxy = one(form, "MessagingBinding.ProxyAddress")
    if address is None:
        raise RestRefusal(
            400, BAD_PARAMETER, "Either Identity or MessagingBinding.Address is required"
        )
    if proxy is None:
        raise RestRefusal(400, BAD_PARAMETER, "MessagingBinding.ProxyAddress is required")
    for name, value in (("Address", address), ("ProxyAddress", proxy)):
        if E164.fullmatch(value) is None:
            raise RestRefusal(
                400, BAD_PARAMETER, f"MessagingBinding.{name} {value!r} is not an E.164 number"
            )
    return ParticipantOrder(address=address, proxy_address=proxy)


def message_order(form: Form) -> MessageOrder:
    """A post-message request, or the refusal Twilio would answer."""
    if one(form, "MediaSid") is not None or one(form, "ContentSid") is not None:
        raise RestRefusal(400, BAD_PARAMETER, "MediaSid and ContentSid are not simulated")
    body = one(form, "Body")
    if body is None:
        raise RestRefusal(400, BAD_PARAMETER, "Body is required")
    if len(body) > MAX_BODY:
        raise RestRefusal(400, BAD_PARAMETER, f"Body must be {MAX_BODY} characters or less")
    return MessageOrder(author=one(form, "Author") or "system", body=body)


def _friendly_name(form: Form) -> str | None:
    name = one(form, "FriendlyName")
    if name is not None and len(name) > MAX_FRIENDLY_NAME:
        raise RestRefusal(
            400, BAD_PARAMETER, f"FriendlyName must be {MAX_FRIENDLY_NAME} characters or less"
        )
    return name


def _state(form: Form) -> State | None:
    state = one(form, "State")
    if state is None:
        return None
    if state not in STATES:
        raise RestRefusal(400, BAD_PARAMETER, f"State {state!r} is not one of {STATES}")
    return cast(State, state)


# --- handlers -------------------------------------------------------------------------------


async def _create(request: web.Request) -> web.Response:
    store = request.app[CONVERSATIONS]
    order = conversation_order(await _form(request))
    fault = store.fault_for("create")
    created = store.create(order) if fault is None or fault.placed else None
    await _delay(fault)
    if created is None or _fails(fault):
        return _fault_answer(fault)
    return _json(conversation_json(store, created, _origin(request)), 201)


async def _fetch(request: web.Request) -> web.Response:
    store = request.app[CONVERSATIONS]
    conversation = store.conversation(request.match_info["sid"], request.path)
    return _json(conversation_json(store, conversation, _origin(request)))


async def _update(request: web.Request) -> web.Response:
    store = request.app[CONVERSATIONS]
    conversation = store.conversation(request.match_info["sid"], request.path)
    form = await _form(request)
    updated = store.update(conversation, _state(form), _friendly_name(form))
    return _json(conversation_json(store, updated, _origin(request)))


async def _add_participant(request: web.Request) -> web.Response:
    store = request.app[CONVERSATIONS]
    conversation = store.conversation(request.match_info["sid"], request.path)
    order = participant_order(await _form(request))
    fault = store.fault_for("participant")
    added = store.add_participant(conversation, order) if fault is None or fault.placed else None
    await _delay(fault)
    if added is None or _fails(fault):
        return _fault_answer(fault)
    return _json(participant_json(store, conversation, added, _origin(request)), 201)


async def _list_participants(request: web.Request) -> web.Response:
    store = request.app[CONVERSATIONS]
    conversation = store.conversation(request.match_info["sid"], request.path)
    origin = _origin(request)
    records = [participant_json(store, conversation, p, origin) for p in conversation.participants]
    return _json(_page(request, "participants", records))


async def _post_message(request: web.Request) -> web.Response:
    store = request.app[CONVERSATIONS]
    conversation = store.conversation(request.match_info["sid"], request.path)
    order = message_order(await _form(request))
    fault = store.fault_for("message")
    posted = store.post_message(conversation, order) if fault is None or fault.placed else None
    await _delay(fault)
    if posted is None or _fails(fault):
        return _fault_answer(fault)
    return _json(message_json(store, conversation, posted, _origin(request)), 201)


async def _list_messages(request: web.Request) -> web.Response:
    store = request.app[CONVERSATIONS]
    conversation = store.conversation(request.match_info["sid"], request.path)
    origin = _origin(request)
    records = [message_json(store, conversation, m, origin) for m in conversation.messages]
    return _json(_page(request, "messages", records))


# --- rendering ------------------------------------------------------------------------------


def iso8601(moment: datetime | None) -> str | None:
    """A timestamp as the Conversations API writes it (``2015-12-16T22:18:37Z``)."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def conversation_json(
    store: ConversationStore, conversation: Conversation, origin: str
) -> JsonObject:
    """A Conversation resource."""
    url = f"{origin}{BASE}/{conversation.sid}"
    return {
        "sid": conversation.sid,
        "account_sid": store.account_sid,
        "chat_service_sid": store.chat_service_sid,
        "messaging_service_sid": None,
        "friendly_name": conversation.friendly_name,
        "unique_name": conversation.unique_name,
        "attributes": "{}",
        "state": conversation.state,
        "date_created": iso8601(conversation.created_at),
        "date_updated": iso8601(conversation.updated_at),
        "timers": {},
        "url": url,
        "links": {
            "participants": f"{url}/Participants",
            "messages": f"{url}/Messages",
            "webhooks": f"{url}/Webhooks",
        },
        "bindings": None,
    }


def participant_json(
    store: ConversationStore, conversation: Conversation, participant: Participant, origin: str
) -> JsonObject:
    """A Conversation Participant resource (SMS)."""
    return {
        "account_sid": store.account_sid,
        "conversation_sid": conversation.sid,
        "sid": participant.sid,
        "identity": None,
        "attributes": "{}",
        "messaging_binding": {
            "type": "sms",
            "address": participant.address,
            "proxy_address": participant.proxy_address,
        },
        "role_sid": None,
        "date_created": iso8601(participant.created_at),
        "date_updated": iso8601(participant.created_at),
        "url": f"{origin}{BASE}/{conversation.sid}/Participants/{participant.sid}",
        "last_read_message_index": None,
        "last_read_timestamp": None,
    }


def message_json(
    store: ConversationStore, conversation: Conversation, message: ConversationMessage, origin: str
) -> JsonObject:
    """A Conversation Message resource."""
    url = f"{origin}{BASE}/{conversation.sid}/Messages/{message.sid}"
    return {
        "account_sid": store.account_sid,
        "conversation_sid": conversation.sid,
        "sid": message.sid,
        "index": message.index,
        "author": message.author,
        "body": message.body,
        "media": None,
        "attributes": "{}",
        "participant_sid": message.participant_sid,
        "date_created": iso8601(message.created_at),
        "date_updated": None,
        "url": url,
        "delivery": None,
        "links": {
            "delivery_receipts": f"{url}/Receipts",
            "channel_metadata": f"{url}/ChannelMetadata",
        },
        "content_sid": None,
    }


def _page(request: web.Request, key: str, records: list[JsonObject]) -> JsonObject:
    wanted = paging(_query(request))
    start = wanted.page * wanted.size
    base = f"{_origin(request)}{request.path}"

    def link(number: int) -> str:
        return f"{base}?PageSize={wanted.size}&Page={number}"

    return {
        key: records[start : start + wanted.size],
        "meta": {
            "page": wanted.page,
            "page_size": wanted.size,
            "first_page_url": link(0),
            "previous_page_url": link(wanted.page - 1) if wanted.page > 0 else None,
            "url": link(wanted.page),
            "next_page_url": link(wanted.page + 1) if start + wanted.size < len(records) else None,
            "key": key,
        },
    }


def _origin(request: web.Request) -> str:
    return str(request.url.origin())


async def _form(request: web.Request) -> dict[str, tuple[str, ...]]:
    posted = await request.post()
    return {name: tuple(str(v) for v in posted.getall(name)) for name in set(posted.keys())}


def _query(request: web.Request) -> dict[str, tuple[str, ...]]:
    return {name: tuple(request.query.getall(name)) for name in set(request.query.keys())}


async def _delay(fault: RestFault | None) -> None:
    if fault is not None and fault.delay_seconds > 0:
        await asyncio.sleep(fault.delay_seconds)


def _fails(fault: RestFault | None) -> bool:
    return fault is not None and fault.status is not None


def _fault_answer(fault: RestFault | None) -> web.Response:
    status = fault.status if fault is not None and fault.status else 500
    return _json(error_json(status, FAULT_CODE, "Internal Server Error (injected fault)"), status)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")
