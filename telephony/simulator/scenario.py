"""Who calls whom, where, and how the parts Twilio cannot see (keys, agents, queues) turn out."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from telephony.simulator.script import ENTRY_SYNTAX, parse_entry

DialStatus = Literal["completed", "busy", "no-answer", "failed"]
CallDirection = Literal["inbound", "outbound-api"]
QueueOutcome = Literal["hangup", "bridged", "leave"]

DEFAULT_CALLER: Final = "+821012345678"
"""A Korean mobile number (+82 10): voicedesk's callers are Korean first."""

DEFAULT_CALLED: Final = "+8215880000"
"""A Korean nationwide representative number (1588-xxxx), the usual contact-center line."""

DEFAULT_MAX_STEPS: Final = 500
"""Verbs and requests per call before the simulator calls it a loop; a long IVR call with
queue announcements stays well under this, a Redirect loop reaches it in milliseconds."""

DEFAULT_VOICE: Final = "ko"
"""espeak-ng's Korean voice: voicedesk's callers are Korean first."""

DEFAULT_STREAM_PATIENCE: Final = 20.0
"""Seconds: a caller who hears nothing on a media stream for this long hangs up; several
times the no-input timeout of a menu, so only a server that went quiet reaches it."""


def new_sid(prefix: str) -> str:
    """A SID shaped like Twilio's: two-letter prefix and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def new_call_sid() -> str:
    """A fresh ``CA…`` call SID."""
    return new_sid("CA")


@dataclass(frozen=True, kw_only=True)
class CallerConfig:
    """One simulated inbound call.

    Attributes:
        server_url: Where the simulator connects (e.g. ``http://127.0.0.1:8080``).
        public_url: The base URL Twilio is configured with and signs against (the server's
            PUBLIC_URL); defaults to ``server_url``.
        account_sid: The ``AccountSid`` Twilio would send.
        auth_token: The auth token requests are signed with.
        caller: ``From``: who calls.
        called: ``To``: the number called.
        voice_path: The incoming-call webhook under ``public_url``.
        status_path: The status callback under ``public_url``.
        digits: The script: one entry per chance to answer (a ``<Gather>``, or a prompt
            on a ``<Connect><Stream>``), in order: keys to press (``"1"``, ``"12345678#"``),
            ``""``/``"-"`` to stay silent, ``"say:TEXT"`` to speak once the prompt has
            played, ``"say@MS:TEXT"`` to barge in MS ms into it, ``"play:PATH"`` (or
            ``"play@MS:PATH"``) to play a WAV file into the line (see
            ``telephony.simulator.script``). When the script runs out, the caller hangs up.
        dial_status: How every ``<Dial>`` leg ends.
        dial_duration: Seconds a completed ``<Dial>`` leg lasts.
        queue_result: How an ``<Enqueue>`` wait ends after ``queue_seconds`` unless the
            server ends it first: the caller hangs up, an agent answers (``bridged``), or the
            call is taken out of the queue (``leave``).
        queue_seconds: Seconds of waiting before ``queue_result`` happens.
        bridged_seconds: Seconds the caller talks to the agent after ``bridged``; in a
            ``<Dial><Conference>``, the longest it stays before hanging up.
        require_mulaw: Refuse played audio that is not 8 kHz mono μ-law WAV.
        max_steps: Loop guard: verbs run plus requests made.
        voice: The espeak-ng voice ``say:`` entries are spoken with (``ko``, ``en-us``, …).
        stream_patience_seconds: On a media stream, the caller hangs up after hearing no
            prompt begin for this long.
        time_scale: Real seconds per simulated second while the call waits for other calls:
            in a queue (hold documents and waits take real time, and a REST redirect wakes
            it at once) and in a conference. 0 (the default) never sleeps: time is added up.
        direction: ``inbound`` (a caller rings the server), or ``outbound-api`` (a call the
            REST API placed, answered by a phone; then ``caller`` is our number, the
            ``From``, and ``called`` the phone, the ``To``).
        call_sid: The call's SID.

    """

    server_url: str
    public_url: str | None = None
    account_sid: str
    auth_token: str
    caller: str = DEFAULT_CALLER
    called: str = DEFAULT_CALLED
    voice_path: str = "/twilio/voice"
    status_path: str = "/twilio/status"
    digits: Sequence[str] = ()
    dial_status: DialStatus = "completed"
    dial_duration: int = 30
    queue_result: QueueOutcome = "hangup"
    queue_seconds: int = 60
    bridged_seconds: int = 60
    require_mulaw: bool = True
    max_steps: int = DEFAULT_MAX_STEPS
    voice: str = DEFAULT_VOICE
    stream_patience_seconds: float = DEFAULT_STREAM_PATIENCE
    time_scale: float = 0.0
    direction: CallDirection = "inbound"
    call_sid: str = field(default_factory=new_call_sid)

    def __post_init__(self) -> None:
        """Refuse a scenario that could not happen, naming the field."""
        object.__setattr__(self, "digits", tuple(self.digits))
        _require_base_url("server_url", self.server_url)
        _require_base_url("public_url", self.base_public_url)
        if self.dial_status not in get_args(DialStatus):
            raise ValueError(
                f"dial_status: {self.dial_status!r} is not one of {', '.join(get_args(DialStatus))}"
            )
        if self.queue_result not in get_args(QueueOutcome):
            raise ValueError(
                f"queue_result: {self.queue_result!r} is not one of "
                f"{', '.join(get_args(QueueOutcome))}"
            )
        for entry in self.digits:
            try:
                parse_entry(entry)
            except ValueError:
                raise ValueError(f"digits: {entry!r} is not {ENTRY_SYNTAX}") from None
        if self.direction not in get_args(CallDirection):
            raise ValueError(f"direction: {self.direction!r} is not inbound or outbound-api")
        if not self.voice.strip() or self.voice.startswith("-"):
            raise ValueError(f"voice: {self.voice!r} is not an espeak-ng voice name")
        for name in (
            "dial_duration",
            "queue_seconds",
            "bridged_seconds",
            "max_steps",
            "stream_patience_seconds",
            "time_scale",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative")

    @property
    def base_public_url(self) -> str:
        """The public base URL without a trailing slash."""
        return (self.public_url or self.server_url).rstrip("/")

    @property
    def base_server_url(self) -> str:
        """The server base URL without a trailing slash."""
        return self.server_url.rstrip("/")


def _require_base_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name}: {value!r} is not an absolute http(s) URL")
