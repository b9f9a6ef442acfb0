"""Calls through a database outage: the outage route without the database, applied afterwards.

While the database is down a webhook cannot read the call's state, so its answer is the menu's
outage route stepped from a new call's state (``answer``). The journal keeps what was answered;
once the database is back ``record`` applies the same :class:`ivr.events.Outage` to the stored
call at its original time, and ``replay`` applies any other journaled event, each exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from calls.menus import MenuRegistry
from calls.service import CallService, Renderer
from history.store import HistoryStore
from ivr import events as ev
from ivr.engine import new_call, step


@dataclass(frozen=True)
class OutageCall:
    """The call a webhook names while the database is down (Twilio sends From/To every time)."""

    call_sid: str
    caller: str
    called: str


class Outages:
    """The outage route of calls, answered without the database and recorded after it."""

    def __init__(self, calls: CallService, store: HistoryStore, menus: MenuRegistry) -> None:
        """Record through ``calls`` into ``store``; route by the menus of ``menus``."""
        self._calls = calls
        self._store = store
        self._menus = menus

    async def answer(
        self, call: OutageCall, reason: str, render: Renderer
    ) -> tuple[str, dict[str, str]]:
        """Answer a webhook while the database is down: the menu's outage route.

        Computed from the published menu and a new call's state, without the database: the
        stored state is out of reach, so ``render`` must leave turns out of its URLs.

        Returns:
            The response for Twilio, and the journal entry that :meth:`record` applies to the
            stored call once the database answers again.

        """
        at = self._calls.clock()
        menu = self._menus.published
        state = replace(new_call(menu), caller=call.caller, called=call.called)
        _, actions = step(menu, state, ev.Outage(at, reason))
        entry = {
            "call_sid": call.call_sid,
            "caller": call.caller,
            "called": call.called,
            "at": at.isoformat(),
            "reason": reason,
            "menu": menu.checksum,
        }
        return await render(menu, actions), entry

    async def record(self, entry: Mapping[str, str], render: Renderer) -> None:
        """Apply an outage answer to the stored call once the database is back (idempotent).

        A call first seen during the outage is opened on the menu version that answered it;
        then the call steps :class:`ivr.events.Outage` at the original time, so the history
        shows the outage route and a queued caller's place in line dates from then.
        """
        call_sid, at = entry["call_sid"], datetime.fromisoformat(entry["at"])
        if await self._store.get_call(call_sid) is None:
            menu = await self._menus.pinned(entry["menu"])
            state = replace(new_call(menu), caller=entry["caller"], called=entry["called"])
            await self._store.open_call(
                call_sid=call_sid,
                caller=entry["caller"],
                called=entry["called"],
                direction="inbound",
                menu_id=menu.id,
                menu_checksum=menu.checksum,
                state=state.to_dict(),
                at=at,
            )
        key = f"outage:{entry['at']}"
        await self.replay(call_sid, ev.Outage(at, entry["reason"]), key, render)

    async def replay(self, call_sid: str, event: ev.Event, key: str, render: Renderer) -> None:
        """Apply a journaled event to the stored call once: skipped if ``key`` is recorded.

        Raises:
            calls.service.UnknownCallError: No such call.

        """
        if await self._store.has_event(call_sid, key):
            return
        await self._calls.advance(call_sid, event, None, render, key=key)
