"""How a verb hands control on: to the next verb, to another document, or to the call's end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import aiohttp

from telephony.simulator.live_call import Command, LiveCall
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.transcript import Heard, HungUp, InputRequest, Paused, Rejected, Step
from telephony.simulator.twilio_forms import TwilioForms
from telephony.simulator.twilio_http import FetchedDocument
from telephony.simulator.twiml_rules import TwimlNode

if TYPE_CHECKING:
    from telephony.simulator.network import Network


@dataclass(frozen=True)
class GoTo:
    """Run another document (the answer to an action or a Redirect)."""

    fetched: FetchedDocument


@dataclass(frozen=True)
class End:
    """The call is over: the last step, and the final ``CallStatus``."""

    step: HungUp | Rejected
    status: str = "completed"


Transition = GoTo | End
"""What a verb leads to, when not simply to the next verb (``None``)."""


class CallFlow(Protocol):
    """The running call, as the verbs see it."""

    config: CallerConfig
    forms: TwilioForms
    elapsed: float
    queue_sids: dict[str, str]
    network: Network | None
    live: LiveCall | None

    def record(self, step: Step) -> None:
        """Add a step to the transcript."""

    async def hold(self, seconds: float, *, counted: bool = False) -> bool:
        """Spend simulated ``seconds`` in real time (``time_scale``); True when woken early.

        ``counted``: the seconds were already added to ``elapsed`` (a prompt that played).
        """

    async def obey(self, command: Command) -> Transition:
        """Carry out a REST command: run the TwiML at its URL, or end the call."""

    async def prompt(self, verb: TwimlNode, base: str) -> Heard | Paused:
        """Run a Say, Play or Pause."""

    async def gather(self, verb: TwimlNode, base: str, *, in_queue: bool) -> Transition | None:
        """Run a Gather."""

    async def redirect(self, verb: TwimlNode, base: str, *, in_queue: bool) -> FetchedDocument:
        """Run a Redirect."""

    async def fetch(
        self, method: str, url: str, form: dict[str, str], purpose: str, *, wait_url: bool = False
    ) -> FetchedDocument:
        """Request and check TwiML."""

    async def open_stream(self, url: str) -> aiohttp.ClientWebSocketResponse:
        """Open a ``<Stream>`` websocket, signed like Twilio's."""

    async def next_input(self, request: InputRequest) -> str | None:
        """The caller's next script entry (or the input provider's answer); None hangs up."""

    def hang_up_reason(self, where: str) -> str:
        """Why the caller hung up when ``next_input`` gave None at ``where``."""
