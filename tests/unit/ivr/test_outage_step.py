"""A database outage routes the call to the menu's outage route (a queue or a transfer)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from config.menu import Menu, TransferNode
from ivr import actions as act
from ivr import events as ev
from ivr.engine import new_call, step
from ivr.state import PHASE_ENDED, PHASE_QUEUED, PHASE_TRANSFERRING

AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
MenuEditor = Callable[..., Menu]

CENTER = TransferNode(id="center", number="+8225550100", next="goodbye")


def test_without_an_outage_route_the_fallback_queue_takes_the_call(menu: Menu) -> None:
    state, actions = step(menu, new_call(menu), ev.Outage(AT, "database unavailable"))

    assert actions[0] == act.FellBack("welcome", "agents", "database unavailable")
    assert state.phase == PHASE_QUEUED
    enqueue = next(a for a in actions if isinstance(a, act.Enqueue))
    assert enqueue.queue == "general"


def test_the_outage_route_names_a_transfer(edit: MenuEditor) -> None:
    menu = edit(CENTER, outage="center")
    state, actions = step(menu, new_call(menu), ev.Outage(AT, "database unavailable"))

    assert state.phase == PHASE_TRANSFERRING
    assert any(isinstance(a, act.Transfer) and a.number == "+8225550100" for a in actions)


def test_no_queue_or_transfer_to_go_to_apologises_and_hangs_up(edit: MenuEditor) -> None:
    menu = edit(fallback=None)
    state, actions = step(menu, new_call(menu), ev.Outage(AT, "database unavailable"))

    assert state.phase == PHASE_ENDED
    assert isinstance(actions[-1], act.Hangup)
