"""Twilio's REST resources as JSON: calls, queues, queue members, messages, pages and errors.

Shaped like the bodies Twilio's API 2010-04-01 returns (snake_case fields, RFC 2822 dates,
``uri`` relative to the API host, list pages keyed by resource name with ``next_page_uri``),
so the real ``twilio`` client parses them; errors carry Twilio's legacy error fields
(``code``, ``message``, ``more_info``, ``status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Final
from urllib.parse import urlencode

from telephony.simulator.live_call import LiveCall
from telephony.simulator.network import CallQueue, QueueMember
from telephony.simulator.outbound import MessageRecord
from telephony.simulator.twilio_forms import API_VERSION

JsonObject = dict[str, Any]

DEFAULT_PAGE_SIZE: Final = 50
"""Records per page when ``PageSize`` is not given: Twilio's default."""

MAX_PAGE_SIZE: Final = 1000
"""Twilio's largest page."""


def account_path(account_sid: str) -> str:
    """The path every resource of the account lives under."""
    return f"/{API_VERSION}/Accounts/{account_sid}"


def rfc2822(moment: datetime | None) -> str | None:
    """A timestamp as Twilio writes it (``Tue, 31 Aug 2010 20:36:28 +0000``)."""
    return None if moment is None else format_datetime(moment)


def call_json(account_sid: str, call: LiveCall) -> JsonObject:
    """A Call resource."""
    uri = f"{account_path(account_sid)}/Calls/{call.sid}"
    return {
        "sid": call.sid,
        "account_sid": account_sid,
        "parent_call_sid": None,
        "date_created": rfc2822(call.date_created),
        "date_updated": rfc2822(call.date_updated),
        "to": call.to,
        "to_formatted": call.to,
        "from": call.from_,
        "from_formatted": call.from_,
        "phone_number_sid": None,
        "status": call.status,
        "start_time": rfc2822(call.start_time),
        "end_time": rfc2822(call.end_time),
        "duration": None if call.duration_seconds is None else str(call.duration_seconds),
        "price": None,
        "price_unit": "USD",
        "direction": call.direction,
        "answered_by": None,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{uri}.json",
        "subresource_uris": {
            "notifications": f"{uri}/Notifications.json",
            "recordings": f"{uri}/Recordings.json",
            "events": f"{uri}/Events.json",
        },
    }


def queue_json(account_sid: str, queue: CallQueue, now: datetime) -> JsonObject:
    """A Queue resource; its size and average wait are computed now, as Twilio does."""
    uri = f"{account_path(account_sid)}/Queues/{queue.sid}"
    return {
        "sid": queue.sid,
        "account_sid": account_sid,
        "friendly_name": queue.friendly_name,
        "current_size": len(queue.members),
        "max_size": queue.max_size,
        "average_wait_time": queue.average_wait_seconds,
        "date_created": rfc2822(queue.date_created),
        "date_updated": rfc2822(now),
        "uri": f"{uri}.json",
        "subresource_uris": {"members": f"{uri}/Members.json"},
    }


def member_json(
    account_sid: str, queue: CallQueue, member: QueueMember, position: int
) -> JsonObject:
    """A Queue Member resource: the call, when it joined, its place and wait so far."""
    return {
        "call_sid": member.call.sid,
        "date_enqueued": rfc2822(member.enqueued_at),
        "position": position,
        "wait_time": round(member.waited()),
        "queue_sid": queue.sid,
        "uri": f"{account_path(account_sid)}/Queues/{queue.sid}/Members/{member.call.sid}.json",
    }


def message_json(account_sid: str, message: MessageRecord) -> JsonObject:
    """A Message resource."""
    uri = f"{account_path(account_sid)}/Messages/{message.sid}"
    return {
        "sid": message.sid,
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.created_at),
        "date_updated": rfc2822(message.created_at),
        "date_sent": None,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": message.from_,
        "to": message.to,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "status": message.status,
        "uri": f"{uri}.json",
        "subresource_uris": {"media": f"{uri}/Media.json"},
    }


def page_json(
    key: str, records: Sequence[JsonObject], path: str, page: int, page_size: int
) -> JsonObject:
    """One page of a list, with the links the client follows to the next one.

    Args:
        key: The list's name, e.g. ``calls``.
        records: Every record of the list (filtered), in order.
        path: The list's path, for the page links.
        page: The page number, from 0.
        page_size: Records per page.

    """
    start = page * page_size
    chunk = list(records[start : start + page_size])

    def link(number: int) -> str:
        return f"{path}?{urlencode({'Page': number, 'PageSize': page_size})}"

    has_next = start + page_size < len(records)
    return {
        key: chunk,
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
        "uri": link(page),
        "first_page_uri": link(0),
        "next_page_uri": link(page + 1) if has_next else None,
        "previous_page_uri": link(page - 1) if page > 0 else None,
    }


def error_json(status: int, code: int, message: str) -> JsonObject:
    """Twilio's error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
