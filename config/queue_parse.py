"""A menu's ``queues`` and its ``queue`` nodes: waiting, announcements, callback offer, overflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from config.menu import Node, Queue, QueueNode
from config.menu_fields import NAME, NAME_RULE, Section
from config.node_context import NodeContext, declared_id

# A service level target beyond an hour measures nothing a caller would still be waiting for.
SERVICE_LEVEL_SECONDS: Final = (1, 3600)
# Twilio refuses a queue larger than 5000 calls (Queue resource, MaxSize).
MAX_SIZE: Final = (1, 5000)
# Under ten seconds the announcements never stop; over ten minutes the caller thinks the line
# is dead.
ANNOUNCE_EVERY_SECONDS: Final = (10, 600)
# Two hours: nobody waits longer on a phone, and a caller offered a callback later than that
# has long hung up.
OFFER_CALLBACK_AFTER_SECONDS: Final = (0, 7200)
# At least half a minute, or the queue is a detour to `overflow`; at most the two hours above.
MAX_WAIT_SECONDS: Final = (30, 7200)


def parse_queues(queues: Section | None) -> dict[str, Queue]:
    """Build every queue of the ``queues`` section that is entirely valid, by id."""
    built: dict[str, Queue] = {}
    if queues is None:
        return built
    for queue_id, raw in queues.data.items():
        if not isinstance(queue_id, str) or not NAME.fullmatch(queue_id):
            queues.report(str(queue_id), f"is not a valid queue id: {NAME_RULE}")
        elif raw is not None and not isinstance(raw, Mapping):
            queues.report(queue_id, "must be a mapping of queue settings, or empty")
        else:
            # `general:` with nothing under it is a queue with every default.
            sec = Section(raw or {}, queues.issues, None, queues.where(queue_id))
            built[queue_id] = _queue(sec, queue_id)
    return built


def _queue(sec: Section, queue_id: str) -> Queue:
    sec.check_keys((), ("service_level_seconds", "max_size"), "a queue")
    service_level = sec.integer(
        "service_level_seconds", *SERVICE_LEVEL_SECONDS, Queue.service_level_seconds
    )
    max_size = sec.integer("max_size", *MAX_SIZE, Queue.max_size)
    return Queue(id=queue_id, service_level_seconds=service_level, max_size=max_size)


def build_queue_node(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    """The ``queue`` node in ``sec``, or None when a required field is missing or invalid."""
    queue = declared_id(sec, "queue", context.queues)
    prompt, next_ = sec.prompt("prompt"), sec.text("next")
    announce_every = sec.integer(
        "announce_every", *ANNOUNCE_EVERY_SECONDS, default=QueueNode.announce_every
    )
    offer_after = sec.optional_integer("offer_callback_after", *OFFER_CALLBACK_AFTER_SECONDS)
    max_wait = sec.optional_integer("max_wait", *MAX_WAIT_SECONDS)
    overflow, after_agent = sec.text("overflow"), sec.text("after_agent")
    callback_sms = sec.flag("callback_sms", default=QueueNode.callback_sms)
    offer_chat = sec.text("offer_chat")
    chat_after = sec.integer(
        "offer_chat_after", *OFFER_CALLBACK_AFTER_SECONDS, default=QueueNode.offer_chat_after
    )
    _check_overflow(sec, max_wait)
    _check_callback_offer(sec, offer_after, max_wait)
    _check_chat_offer(sec, chat_after, max_wait)
    if queue is None:
        return None
    return QueueNode(
        id=node_id,
        queue=queue,
        prompt=prompt,
        next=next_,
        announce_every=announce_every,
        offer_callback_after=offer_after,
        max_wait=max_wait,
        overflow=overflow,
        after_agent=after_agent,
        callback_sms=callback_sms,
        offer_chat=offer_chat,
        offer_chat_after=chat_after,
    )


def _check_overflow(sec: Section, max_wait: int | None) -> None:
    """``max_wait`` and ``overflow`` come together: one says when, the other where to."""
    if "max_wait" in sec.data and "overflow" not in sec.data:
        shown_wait = f"{max_wait} seconds" if max_wait is not None else "max_wait"
        sec.report("overflow", f"is required with max_wait: where callers go after {shown_wait}")
    elif "overflow" in sec.data and "max_wait" not in sec.data:
        sec.report("overflow", "needs max_wait: without a limit no caller ever overflows")


def _check_callback_offer(sec: Section, offer_after: int | None, max_wait: int | None) -> None:
    if offer_after is not None and max_wait is not None and offer_after >= max_wait:
        sec.report(
            "offer_callback_after",
            f"{offer_after} seconds is never reached: callers overflow after max_wait "
            f"{max_wait} seconds",
        )
    if "callback_sms" in sec.data and "offer_callback_after" not in sec.data:
        sec.report(
            "callback_sms",
            "only applies to a callback offered while waiting: set offer_callback_after",
        )


def _check_chat_offer(sec: Section, chat_after: int, max_wait: int | None) -> None:
    if "offer_chat_after" in sec.data and "offer_chat" not in sec.data:
        sec.report("offer_chat_after", "only applies with offer_chat: the chat node offered")
    if "offer_chat" in sec.data and max_wait is not None and chat_after >= max_wait:
        sec.report(
            "offer_chat_after",
            f"{chat_after} seconds is never reached: callers overflow after max_wait "
            f"{max_wait} seconds",
        )
