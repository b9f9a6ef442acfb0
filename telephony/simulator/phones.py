"""The phones the REST stand-in calls: how each number behaves, and faults in Twilio's answer.

A :class:`PhoneBook` maps numbers to :class:`Phone` behaviours; a number not in it answers with
the book's default phone. A phone either only signals (rings, answers, hangs up after
``talk_seconds``: status callbacks only, light enough for thousands of calls a minute) or
follows the call's TwiML like a person with a keypad (``follow_twiml``). A :class:`RestFault`
makes the stand-in's answer to creating a call (or message) to that number go wrong, with or
without the call really being placed: what crash reconciliation has to sort out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from telephony.simulator.script import ENTRY_SYNTAX, parse_entry

Behaviour = Literal["answer", "busy", "no-answer", "failed"]
PhoneMode = Literal["signal_only", "follow_twiml"]


@dataclass(frozen=True)
class RestFault:
    """How the stand-in's answer to a create request for a phone goes wrong.

    Attributes:
        status: HTTP status answered instead of 201 (500: Twilio's internal error, with its
            JSON error body); None answers 201 normally, only late.
        delay_seconds: Real seconds before answering; beyond the client's timeout it hears
            nothing at all.
        placed: Whether the call (or message) is really placed despite the answer.
        times: How many create requests get the fault (None: all); later ones go through.

    """

    status: int | None = 500
    delay_seconds: float = 0.0
    placed: bool = True
    times: int | None = None

    def __post_init__(self) -> None:
        """Refuse a fault that cannot happen, naming the field."""
        if self.status is not None and not 400 <= self.status < 600:
            raise ValueError(f"status: {self.status} is not an HTTP error status")
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds: must not be negative")
        if self.status is None and not self.placed:
            raise ValueError("placed: a fault answering normally (status None) places the call")
        if self.times is not None and self.times < 1:
            raise ValueError("times: must be at least 1 (or None for every request)")


@dataclass(frozen=True)
class Phone:
    """How one phone behaves when called.

    Attributes:
        behaviour: ``answer`` (after ``ring_seconds``), ``busy``, ``no-answer`` (rings out
            the call's ``Timeout``) or ``failed`` (the number cannot be reached).
        mode: ``signal_only``: after answering, hang up after ``talk_seconds`` (status
            callbacks only); ``follow_twiml``: request the call's ``Url`` and follow the
            TwiML with ``script``, like the simulated caller does.
        ring_seconds: Simulated seconds it rings before answering; at or beyond the call's
            ``Timeout`` it is not answered.
        talk_seconds: Simulated seconds a ``signal_only`` phone talks; for ``follow_twiml``,
            the longest it stays in a conference before hanging up.
        script: ``follow_twiml`` answers, one per ``<Gather>`` (``telephony.simulator.script``).
        fault: What goes wrong in the REST answer when this number is called.

    """

    behaviour: Behaviour = "answer"
    mode: PhoneMode = "signal_only"
    ring_seconds: int = 5
    talk_seconds: int = 30
    script: tuple[str, ...] = ()
    fault: RestFault | None = None

    def __post_init__(self) -> None:
        """Refuse a phone that could not exist, naming the field."""
        object.__setattr__(self, "script", tuple(self.script))
        if self.behaviour not in get_args(Behaviour):
            raise ValueError(f"behaviour: {self.behaviour!r} is not one of {get_args(Behaviour)}")
        if self.mode not in get_args(PhoneMode):
            raise ValueError(f"mode: {self.mode!r} is not one of {get_args(PhoneMode)}")
        if self.ring_seconds < 0 or self.talk_seconds < 0:
            raise ValueError("ring_seconds, talk_seconds: must not be negative")
        for entry in self.script:
            try:
                parse_entry(entry)
            except ValueError:
                raise ValueError(f"script: {entry!r} is not {ENTRY_SYNTAX}") from None


@dataclass
class PhoneBook:
    """Phones by number; any other number behaves as ``default``.

    Attributes:
        phones: Phones by E.164 number.
        default: The phone of every number not listed.

    """

    phones: dict[str, Phone] = field(default_factory=dict)
    default: Phone = field(default_factory=Phone)
    _faults_used: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __setitem__(self, number: str, phone: Phone) -> None:
        """Add or replace a phone."""
        self.phones[number] = phone

    def phone(self, number: str) -> Phone:
        """The phone that answers ``number``."""
        return self.phones.get(number, self.default)

    def fault_for(self, number: str) -> RestFault | None:
        """The fault for this create request to ``number``, counting it against ``times``."""
        fault = self.phone(number).fault
        if fault is None:
            return None
        used = self._faults_used.get(number, 0)
        if fault.times is not None and used >= fault.times:
            return None
        self._faults_used[number] = used + 1
        return fault

    @classmethod
    def of(cls, phones: Mapping[str, Phone], default: Phone | None = None) -> PhoneBook:
        """A book of ``phones``; ``default`` for everyone else (a plain answering phone)."""
        return cls(phones=dict(phones), default=default or Phone())
