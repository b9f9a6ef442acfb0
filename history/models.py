"""The history schema: customers, interactions and their events, live call rows, keys, menus."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    literal,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import BindParameter

# Deterministic constraint names, so later migrations can drop or alter them by name (SQLite
# batch migrations need names too).
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids are PostgreSQL INTEGERs: a larger id cannot exist, and asyncpg refuses to bind one (where
# SQLite would just find nothing), so lookups answer "not found" before asking.
MAX_ID: Final = 2**31 - 1

CHANNELS: Final = frozenset({"voice", "chat", "callback"})
DIRECTIONS: Final = frozenset({"inbound", "outbound"})
ROLES: Final = frozenset({"admin", "supervisor", "agent"})
MENU_STATUSES: Final = frozenset({"draft", "published"})

# Plain JSON on SQLite; JSONB on PostgreSQL (binary, indexable, no duplicate keys).
JsonDocument: Final = JSON().with_variant(JSONB(), "postgresql")

# Events outgrow 32-bit ids first (tens per call). SQLite keeps INTEGER: only an
# ``INTEGER PRIMARY KEY`` is its auto-assigned rowid, and it is 64-bit anyway.
EventId: Final = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: frozenset[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in sorted(values))})"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on both databases.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so instants are stored as naive
    UTC and read back with UTC attached. Naive datetimes are refused: their meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC (naive UTC on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: history stores aware UTC instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JsonDocument,
    }


class Customer(Base):
    """A person known by their phone number; every channel's interactions hang off it."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # E.164 is at most 15 digits plus the '+'.
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))  # BCP 47 tags fit in 35
    created_at: Mapped[datetime]


class Interaction(Base):
    """One contact with a customer on one channel: a call, a chat, a callback."""

    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("direction", DIRECTIONS), name="direction"),
        Index(None, "customer_id", "started_at"),
        Index(None, "parent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    call_sid: Mapped[str | None] = mapped_column(Text, unique=True)
    # Null when the caller withheld their number (or it is not E.164): no timeline to join.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    direction: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    menu_id: Mapped[str | None] = mapped_column(Text)
    # The seq of the newest event: appending is one `UPDATE … SET last_seq = last_seq + n
    # RETURNING`, which both allocates the numbers and serialises appenders on the row.
    last_seq: Mapped[int] = mapped_column(Integer, server_default="0")


class InteractionEvent(Base):
    """One append-only entry of an interaction's history, numbered by ``seq`` from 1."""

    __tablename__ = "interaction_events"
    __table_args__ = (
        UniqueConstraint("interaction_id", "seq"),
        # Idempotency: a retried webhook or status callback carries the same key.
        UniqueConstraint("interaction_id", "key"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    key: Mapped[str | None] = mapped_column(Text)


class Call(Base):
    """The live state row of a call, read and written by every webhook of the call."""

    __tablename__ = "calls"

    call_sid: Mapped[str] = mapped_column(Text, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    menu_id: Mapped[str] = mapped_column(Text)
    menu_checksum: Mapped[str] = mapped_column(Text)
    state: Mapped[dict[str, Any]]
    # Optimistic concurrency: a write names the version it read.
    version: Mapped[int] = mapped_column(Integer)
    last_response: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ApiKey(Base):
    """An API key: only the SHA-256 digest of the token is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, hex
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class MenuVersion(Base):
    """An immutable menu document, addressed by its checksum; calls pin the version they use."""

    __tablename__ = "menu_versions"
    __table_args__ = (CheckConstraint(_one_of("status", MENU_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    menu_id: Mapped[str] = mapped_column(Text, index=True)
    checksum: Mapped[str] = mapped_column(Text, unique=True)
    content: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


def instant(at: datetime) -> BindParameter[datetime]:
    """``at`` as a bound UTC instant, for use inside SQL expressions (``coalesce(col, at)``).

    A bare datetime inside a SQL function is bound as a plain ``DateTime``, which on SQLite would
    store the local wall time of a non-UTC value; this binds it through :class:`UtcDateTime`.
    """
    return literal(at, UtcDateTime())
