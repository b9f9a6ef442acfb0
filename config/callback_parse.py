"""The ``callback`` node: booking a callback at a later time slot of a schedule's opening hours."""

from __future__ import annotations

from datetime import time
from typing import Final

from config.listening_parse import check_spoken_answers, parse_listening
from config.menu import CallbackNode, Node, Schedule, TimeRange
from config.menu_fields import Section
from config.node_context import NodeContext, declared_id
from config.schedule_parse import END_OF_DAY
from config.spoken_answers import SLOT_CHOICE_PHRASES

# Slot n answers to key n: eight slots leave 9, 0, '*' and '#' free for "none of these" and
# "say them again", and more than eight is more than a caller can hold in mind.
SLOTS: Final = (1, 8)
# A quarter of an hour is as exact as a call-center plan gets; four hours is half a day.
SLOT_MINUTES: Final = (15, 240)
# The earliest slot from "now" up to a day later.
LEAD_MINUTES: Final = (0, 1440)
# Two weeks ahead at most: staffing plans rarely reach further.
DAYS_AHEAD: Final = (1, 14)
MINUTES_PER_DAY: Final = 24 * 60


def build_callback_node(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    """The ``callback`` node in ``sec``, or None when a required field is missing or invalid."""
    queue = declared_id(sec, "queue", context.queues)
    schedule = declared_id(sec, "schedule", context.schedules)
    prompt, next_ = sec.prompt("prompt"), sec.text("next")
    slots = sec.integer("slots", *SLOTS, default=CallbackNode.slots)
    slot_minutes = _slot_minutes(sec, context.valid_schedules.get(schedule or ""))
    lead_minutes = sec.integer("lead_minutes", *LEAD_MINUTES, default=CallbackNode.lead_minutes)
    days_ahead = sec.integer("days_ahead", *DAYS_AHEAD, default=CallbackNode.days_ahead)
    listening = parse_listening(sec, context.speech, CallbackNode)
    check_spoken_answers(sec, listening.input, SLOT_CHOICE_PHRASES, slots, "slot choices")
    fallback, after_agent = sec.text("fallback"), sec.text("after_agent")
    sms = sec.flag("sms", default=CallbackNode.sms)
    if queue is None or schedule is None or prompt is None or next_ is None:
        return None
    return CallbackNode(
        id=node_id,
        queue=queue,
        schedule=schedule,
        prompt=prompt,
        next=next_,
        slots=slots,
        slot_minutes=slot_minutes,
        lead_minutes=lead_minutes,
        days_ahead=days_ahead,
        input=listening.input,
        timeout=listening.timeout,
        retries=listening.retries,
        fallback=fallback,
        no_input_prompt=listening.no_input_prompt,
        no_match_prompt=listening.no_match_prompt,
        speech=listening.speech,
        after_agent=after_agent,
        sms=sms,
    )


def _slot_minutes(sec: Section, schedule: Schedule | None) -> int:
    """The slot length, which must fit in one opening window of the node's schedule."""
    before = len(sec.issues)
    minutes = sec.integer("slot_minutes", *SLOT_MINUTES, default=CallbackNode.slot_minutes)
    if schedule is None or len(sec.issues) > before:
        return minutes
    windows = [window for day in schedule.weekly.values() for window in day]
    longest = max((window_minutes(window) for window in windows), default=0)
    if longest < minutes:
        name = "slot_minutes" if "slot_minutes" in sec.data else "schedule"
        sec.report(
            name,
            f"no slot of {minutes} minutes fits in schedule '{schedule.id}': its longest "
            f"opening window is {longest} minutes, so no callback could ever be booked",
        )
    return minutes


def window_minutes(window: TimeRange) -> int:
    """How many minutes an opening window lasts (a window ending at 24:00 runs to midnight)."""
    end = MINUTES_PER_DAY if window.end == END_OF_DAY else _minute_of_day(window.end)
    return end - _minute_of_day(window.start)


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute
