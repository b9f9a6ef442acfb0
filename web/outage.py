"""Through a database outage: the instance's journal, its replayer, and the outage route.

While the history database cannot be reached, nothing a webhook brings is dropped: status
callbacks, history notes and customers' texts go to the journal (``history.journal``) and reach
the database, in order and exactly once, when it answers again. A call answered during the
outage gets the menu's outage route (a queue with a working ``waitUrl``, or a transfer),
computed without the database; the journal records it, and its replay writes the call, its
route and (for a queue) the caller's place in the line, so an agent is given them in turn.
docs/RELIABILITY.md states the guarantees and their limits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from calls.outage import OutageCall, Outages
from chat.service import InboundText
from history.journal import Journal, JournalError, JournalReplayer
from ivr import events as ev
from telephony import webhooks
from web.keys import (
    CALLS,
    CHATS,
    INSTANCE,
    JOURNAL,
    MENUS,
    OUTAGES,
    REPLAYER,
    SETTINGS,
    STORE,
    VOICE,
)

log = logging.getLogger(__name__)

# The kinds of journaled writes (each has one idempotent handler, used directly and on replay).
CALL_STATUS: Final = "call_status"
CALL_NOTE: Final = "call_note"
CALL_OUTAGE: Final = "call_outage"
CALL_LEG_ENDED: Final = "call_leg_ended"
INBOUND_TEXT: Final = "inbound_text"

QUEUE_WAIT_PATH: Final = "/twilio/queue/wait"
VOICE_PATH: Final = "/twilio/voice"

LegEnded = Callable[[Mapping[str, str], datetime], ev.Event]
# Webhooks that report how a leg of the call ended (the caller left the queue, the transfer or
# the agent's call ended): what they say must reach the call's state (a caller who hung up in
# the queue must leave the line), so during an outage they are journaled, not answered with
# the outage route again.
LEG_ENDS: Final[Mapping[str, LegEnded]] = {
    "/twilio/queue": webhooks.queue_result,
    "/twilio/dial": webhooks.transfer_ended,
    "/twilio/agent-ended": webhooks.agent_call_ended,
}
# The form fields those parsers read (the rest is not journaled).
LEG_FIELDS: Final = ("QueueResult", "QueueTime", "DialCallStatus", "DialCallDuration")


async def journal(app: web.Application) -> AsyncIterator[None]:
    """Open this instance's journal, register the writes it may hold, and replay it."""
    settings = app[SETTINGS]
    app[OUTAGES] = Outages(app[CALLS], app[STORE], app[MENUS])
    journal = Journal(settings.journal_dir, app[INSTANCE])
    _register(app, journal)
    await journal.open()
    replayer = JournalReplayer(journal, app[STORE].ping)
    app[JOURNAL] = journal
    app[REPLAYER] = replayer
    task = asyncio.create_task(replayer.run(), name="journal-replayer")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    await replayer.drain()  # a clean stop leaves nothing behind when the database answers
    await journal.close()


def _register(app: web.Application, journal: Journal) -> None:
    calls, voice, outages = app[CALLS], app[VOICE], app[OUTAGES]

    async def status(entry: Mapping[str, Any]) -> bool:
        return await calls.report_status(
            entry["call_sid"],
            entry["status"],
            entry["sequence"],
            entry["duration"],
            entry["final"],
            at=datetime.fromisoformat(entry["at"]),
        )

    async def note(entry: Mapping[str, Any]) -> None:
        await calls.note(
            entry["call_sid"],
            entry["what"],
            entry["details"],
            key=entry["key"],
            at=datetime.fromisoformat(entry["at"]),
        )

    async def outage(entry: Mapping[str, Any]) -> None:
        await outages.record(entry, voice.for_call(entry["call_sid"]))

    async def leg_ended(entry: Mapping[str, Any]) -> None:
        event = LEG_ENDS[entry["webhook"]](entry["form"], datetime.fromisoformat(entry["at"]))
        key = f"leg:{entry['webhook']}:{entry['at']}"
        await outages.replay(entry["call_sid"], event, key, voice.for_call(entry["call_sid"]))

    async def text(entry: Mapping[str, Any]) -> object:
        inbound = InboundText(entry["message_sid"], entry["from"], entry["to"], entry["body"])
        return await app[CHATS].inbound_text(
            inbound, via=entry["via"], at=datetime.fromisoformat(entry["at"])
        )

    journal.register(CALL_STATUS, status)
    journal.register(CALL_NOTE, note)
    journal.register(CALL_OUTAGE, outage)
    journal.register(CALL_LEG_ENDED, leg_ended)
    journal.register(INBOUND_TEXT, text)


async def outage_answer(request: web.Request, call_sid: str, form: dict[str, str]) -> str:
    """TwiML for a call's webhook while the database (or the journal ahead of it) holds it up.

    A queue's wait document is hold audio. A webhook saying how a leg ended (``LEG_ENDS``) is
    journaled and answered with an apology and a hang-up: nothing more can be done for the
    call without the database. Any other webhook gets the menu's outage route, journaled once
    per call.
    """
    voice, journal = request.app[VOICE], request.app[JOURNAL]
    menu = request.app[MENUS].published
    if request.path == QUEUE_WAIT_PATH:
        return await voice.outage_hold(menu)
    if request.path in LEG_ENDS:
        leg = {
            "call_sid": call_sid,
            "webhook": request.path,
            "form": {k: form[k] for k in LEG_FIELDS if k in form},
            "at": request.app[CALLS].clock().isoformat(),
        }
        try:
            await journal.append(CALL_LEG_ENDED, leg)
        except JournalError:
            log.exception("call %s: how its leg ended could not be journaled", call_sid)
        return await voice.apology(menu)
    call = OutageCall(
        call_sid,
        form.get("From") or form.get("Caller") or "",
        form.get("To") or form.get("Called") or "",
    )
    body, entry = await request.app[OUTAGES].answer(
        call, "database unavailable", lambda m, actions: voice.outage_render(m, actions)
    )
    if not journal.holds(call_sid, CALL_OUTAGE):
        try:
            await journal.append(CALL_OUTAGE, entry)
        except JournalError:  # the caller is still routed; only the record of it is lost
            log.exception("call %s: the outage route could not be journaled", call_sid)
    return body


def status_entry(
    call_sid: str, status: str, sequence: int | None, duration: int, final: bool, at: datetime
) -> dict[str, Any]:
    """The journal entry of a status callback."""
    return {
        "call_sid": call_sid,
        "status": status,
        "sequence": sequence,
        "duration": duration,
        "final": final,
        "at": at.isoformat(),
    }


def note_entry(
    call_sid: str, what: str, details: Mapping[str, object], key: str | None, at: datetime
) -> dict[str, Any]:
    """The journal entry of a note about a call (a barge-in, a keypad fallback)."""
    return {
        "call_sid": call_sid,
        "what": what,
        "details": dict(details),
        "key": key,
        "at": at.isoformat(),
    }


def text_entry(text: InboundText, via: str, at: datetime) -> dict[str, Any]:
    """The journal entry of a customer's text (SMS or Conversations)."""
    return {
        "message_sid": text.message_sid,
        "from": text.from_,
        "to": text.to,
        "body": text.body,
        "via": via,
        "at": at.isoformat(),
    }
