"""``<Dial><Conference>``: legs meet in a named room, in real time, until the room ends.

Per Twilio's ``<Conference>`` reference: a room exists while it has participants; it starts
when a participant with ``startConferenceOnEnter`` (default true) is in it, and ends when a
participant with ``endConferenceOnExit="true"`` leaves, or when the last one leaves. A leg in
the room waits in real time (``time_scale``): it stays until the room ends, a REST command
takes it away, or its own patience runs out (``bridged_seconds``: an inbound caller hangs up,
a stand-in phone finishes talking) — then it hangs up and its leaving may end the room for the
others. When the room ends under a leg, its ``<Dial>`` is over: the ``action`` gets
``DialCallStatus=completed`` and ``DialCallDuration`` (no ``DialCallSid``: Twilio sends none
after dialing a conference) and the call goes on with its answer, as a caller reaching a
post-call survey does. ``waitUrl`` music and ``beep`` are not played (no audio is simulated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from telephony.simulator.flow import CallFlow, End, GoTo, Transition
from telephony.simulator.live_call import LiveCall
from telephony.simulator.scenario import new_sid
from telephony.simulator.transcript import Dialed, HungUp, SimulationError
from telephony.simulator.twiml_rules import TwimlNode

Leaving = Literal["room ended", "hung up", "command"]


@dataclass(frozen=True)
class Participant:
    """A leg in a room and the two attributes that decide the room's life."""

    call: LiveCall
    start_on_enter: bool = True
    end_on_exit: bool = False


class Room:
    """One conference: its participants, whether it started, whether it ended."""

    def __init__(self, name: str) -> None:
        """An empty room named ``name``."""
        self.name = name
        self.sid = new_sid("CF")
        self.participants: dict[str, Participant] = {}
        self.started = False
        self.ended = False
        self.joined: list[str] = []

    def join(self, participant: Participant) -> None:
        """A leg enters; it starts the room if it may."""
        self.participants[participant.call.sid] = participant
        self.joined.append(participant.call.sid)
        if participant.start_on_enter and not self.started:
            self.started = True
            self._wake_all()

    def leave(self, call_sid: str) -> None:
        """A leg leaves; the room ends if it was the moderator or the last one."""
        participant = self.participants.pop(call_sid, None)
        if participant is None:
            return
        if participant.end_on_exit or not self.participants:
            self.end()

    def end(self) -> None:
        """End the room: every leg still in it is woken and leaves."""
        if not self.ended:
            self.ended = True
            self._wake_all()

    def _wake_all(self) -> None:
        for participant in self.participants.values():
            participant.call.nudge()


class Conferences:
    """The rooms by name; a name whose room ended gets a new room on the next join."""

    def __init__(self) -> None:
        """No rooms yet."""
        self._active: dict[str, Room] = {}
        self.history: list[Room] = []

    def join(self, name: str, participant: Participant) -> Room:
        """Put a leg in the running room of that name, opening one if there is none."""
        room = self._active.get(name)
        if room is None or room.ended:
            room = Room(name)
            self._active[name] = room
            self.history.append(room)
        room.join(participant)
        return room

    def room(self, name: str) -> Room | None:
        """The running room of that name."""
        room = self._active.get(name)
        return None if room is None or room.ended else room


async def dial_conference(call: CallFlow, verb: TwimlNode, base: str) -> Transition | None:
    """Run ``<Dial><Conference>`` on a call that is on the simulated network.

    Args:
        call: The running call (``call.network`` and ``call.live`` are set).
        verb: The ``<Dial>`` element holding the ``<Conference>``.
        base: The URL of its document, for relative URLs.

    Returns:
        The action's answer, the end of the call, or None for the next verb.

    """
    network, live = call.network, call.live
    if network is None or live is None:
        raise SimulationError(f"{verb.path}: a conference needs the simulated network")
    noun = next(child for child in verb.children if child.name == "Conference")
    participant = Participant(
        live,
        start_on_enter=noun.get("startConferenceOnEnter", "true") == "true",
        end_on_exit=noun.get("endConferenceOnExit") == "true",
    )
    room = network.conferences.join(noun.text, participant)
    await network.notify()
    started = call.elapsed
    try:
        leaving = await _stay(call, live, room, started)
    finally:
        room.leave(live.sid)
    await network.notify()
    seconds = call.elapsed - started
    call.record(Dialed(f"Conference {noun.text}", "completed", round(seconds)))
    if leaving == "command":
        command = live.take()
        if command is not None:
            return await call.obey(command)
    end = None
    if leaving == "hung up":
        end = End(HungUp("caller", f"hung up after {round(seconds)} s in conference {noun.text}"))
    action = verb.get("action")
    if action is None:
        return end
    form = call.forms.dial("completed", None, round(seconds))
    fetched = await call.fetch(
        verb.get("method") or "POST", urljoin(base, action), form, "dial action"
    )
    # After a hang-up the answer is checked but not run: the call is over.
    return end or GoTo(fetched)


async def _stay(call: CallFlow, live: LiveCall, room: Room, started: float) -> Leaving:
    while True:
        if live.pending is not None:
            return "command"
        if room.ended:
            return "room ended"
        left = call.config.bridged_seconds - (call.elapsed - started)
        if left <= 0:
            return "hung up"
        await call.hold(left)
