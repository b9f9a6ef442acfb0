"""Chats in the app: the chat service, the sender of chat texts, and every chat route."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from chat import sessions
from chat.conversations import ConversationsChannel
from chat.feed import ChatFeed
from chat.outbox import ChatChannel, ChatOutbox, LinkText
from chat.service import ChatService
from chat.sessions import ChatInfo
from chat.sms import SmsChannel
from chat.tokens import LinkSigner
from config.messages import LINK_PLACEHOLDER, MessageKey
from telephony.rest import TelephonyRestError, TwilioRest
from web import chat_api, chat_pages
from web.keys import CHAT_PAGES, CHATS, CLOCK, MENUS, SETTINGS, STORE

log = logging.getLogger(__name__)


async def chats(app: web.Application) -> AsyncIterator[None]:
    """The chat service, and this instance's sender of chat texts."""
    settings = app[SETTINGS]
    secret = settings.chat_link_secret or settings.twilio_auth_token
    signer = LinkSigner(
        secret.get_secret_value(), timedelta(seconds=settings.chat_link_ttl_seconds)
    )
    menu = app[MENUS].published
    queue = settings.chat_sms_queue or next(iter(menu.queues), None)
    feed = ChatFeed()
    rest = TwilioRest(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        api_base=settings.twilio_api_base,
    )
    database = app[STORE].database

    async def remember(chat_id: int, conversation_sid: str) -> None:
        await database.write(sessions.remember_conversation, chat_id, conversation_sid)

    channel: ChatChannel
    on_closed = None
    if settings.chat_channel == "conversations":
        conversations = ConversationsChannel(rest, settings.twilio_caller_id, remember=remember)
        channel, on_closed = conversations, _closing_conversations(conversations)
    else:
        channel = SmsChannel(rest, settings.twilio_caller_id)
    service = ChatService(
        database,
        signer,
        feed,
        app[CLOCK],
        sms_queue=queue,
        language=menu.default_language,
        on_closed=on_closed,
    )
    app[CHATS] = service
    app[CHAT_PAGES] = await asyncio.to_thread(chat_pages.read_pages)
    outbox = ChatOutbox(database, channel, link_body=_link_body(app, service), clock=app[CLOCK])
    sender = asyncio.create_task(_send_texts(outbox, feed))
    yield
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    await rest.close()


def _closing_conversations(
    conversations: ConversationsChannel,
) -> Callable[[ChatInfo], Awaitable[None]]:
    """Close a chat's Conversation with the chat.

    Twilio binds a customer's number to one open Conversation at a time, so an open one would
    block the customer's next chat.
    """

    async def close(chat: ChatInfo) -> None:
        if chat.conversation_sid is None:
            return
        try:
            await conversations.close(chat.conversation_sid)
        except TelephonyRestError as err:  # the chat is closed; Twilio's side can be closed by hand
            log.warning(
                "chat %d: conversation %s not closed: %s", chat.id, chat.conversation_sid, err
            )

    return close


def _link_body(app: web.Application, service: ChatService) -> Callable[[LinkText], Any]:
    async def body(link: LinkText) -> str:
        menu = app[MENUS].published
        language = link.language if link.language in menu.languages else menu.default_language
        url = f"{app[SETTINGS].public_url}/chat/{service.link_token(link.chat_id, link.phone)}"
        return menu.messages[MessageKey.SMS_CHAT_LINK][language].replace(LINK_PLACEHOLDER, url)

    return body


async def _send_texts(outbox: ChatOutbox, feed: ChatFeed) -> None:
    while True:
        changed = feed.watch()
        try:
            await outbox.send_pending()
        except Exception:  # the outbox is in the database: the next look retries
            log.exception("chat texts not sent")
        await feed.wait(changed)


def routes() -> list[web.RouteDef]:
    """The chat pages, sockets, API and the webhooks of customers' texts."""
    return [*chat_pages.routes(), *chat_api.routes()]
