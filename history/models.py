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
    literal_column,
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
AGENT_STATES: Final = frozenset({"available", "busy", "wrap_up", "offline"})
CALLBACK_STATUSES: Final = frozenset(
    {"pending", "dialing", "dialed", "failed", "unknown", "cancelled"}
)
# A request is open while it may still be dialled; at most one open request per phone.
OPEN_CALLBACK_STATUSES: Final = ("pending", "dialing")
CALLBACK_KINDS: Final = frozenset({"queued", "scheduled"})
SMS_STATUSES: Final = frozenset({"none", "pending", "sent", "failed"})
MEMBER_STATUSES: Final = frozenset({"waiting", "connecting", "connected", "left"})
CHAT_STATUSES: Final = frozenset({"waiting", "active", "closed"})
# A chat is open until an agent closes it; at most one open chat per customer phone.
OPEN_CHAT_STATUSES: Final = ("waiting", "active")
CHAT_SENDERS: Final = frozenset({"customer", "agent", "system"})
CHAT_VIA: Final = frozenset({"web", "sms", "console", "conversations"})

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
    # An agent's key acts for that agent (sets their own state); null for other roles.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


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


class Agent(Base):
    """A person who takes calls: where to ring them, the queues they serve, their state.

    ``state_since`` orders available agents (the longest idle is offered the next contact);
    ``busy_with`` names the contact they were given (``call:<CallSid>`` or ``callback:<id>``).
    """

    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint(_one_of("state", AGENT_STATES), name="state"),
        Index(None, "state", "state_since"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    # E.164 phone number, or ``client:<identity>`` for a browser softphone.
    address: Mapped[str] = mapped_column(Text, unique=True)
    queues: Mapped[list[str]] = mapped_column(JsonDocument)
    state: Mapped[str] = mapped_column(String(16))
    state_since: Mapped[datetime]
    busy_with: Mapped[str | None] = mapped_column(Text)
    call_sid: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AgentEvent(Base):
    """One change of an agent's state, append-only (supervisors' views fold these)."""

    __tablename__ = "agent_events"
    __table_args__ = (Index(None, "agent_id", "at"),)

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]


class QueueMember(Base):
    """A caller waiting in (or just leaving) a queue: the ACD's view of the line.

    ``enqueued_at`` is the caller's place in line; a customer called back keeps the time of
    their original request there.
    """

    __tablename__ = "queue_members"
    __table_args__ = (
        CheckConstraint(_one_of("status", MEMBER_STATUSES), name="status"),
        Index(None, "queue", "status", "enqueued_at"),
    )

    call_sid: Mapped[str] = mapped_column(Text, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    queue: Mapped[str] = mapped_column(Text)
    node: Mapped[str] = mapped_column(Text)
    enqueued_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    claimed_at: Mapped[datetime | None]
    connected_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Callback(Base):
    """A callback request: the source of truth every instance's dialer claims rows from.

    ``status`` moves pending → dialing → dialed | failed | unknown | cancelled (a failed
    attempt with attempts left goes back to pending with a later ``due_at``).
    ``original_enqueued_at`` is the caller's place in line, kept across attempts.
    """

    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint(_one_of("status", CALLBACK_STATUSES), name="status"),
        CheckConstraint(_one_of("kind", CALLBACK_KINDS), name="kind"),
        CheckConstraint(_one_of("sms_status", SMS_STATUSES), name="sms_status"),
        Index(None, "status", "due_at"),
        # The confirmation outbox is looked at every second: find pending texts without a scan.
        Index(None, "sms_status"),
        Index(
            "uq_callbacks_open_phone",
            "phone",
            unique=True,
            sqlite_where=literal_column("status IN ('pending', 'dialing')"),
            postgresql_where=literal_column("status IN ('pending', 'dialing')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))
    # The number the callback comes from: the one the customer dialled.
    from_number: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    kind: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(Text)
    menu_checksum: Mapped[str] = mapped_column(Text)
    node: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime]
    original_enqueued_at: Mapped[datetime]
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    call_sid: Mapped[str | None] = mapped_column(Text, unique=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    agent_call_sid: Mapped[str | None] = mapped_column(Text)
    last_result: Mapped[str | None] = mapped_column(Text)
    sms_status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class ChatSession(Base):
    """A text chat with a customer, usually escalated from a call (its interaction's parent).

    ``status`` moves waiting → active (an agent took it) → closed. ``context`` is the snapshot
    of what the call learned, taken at escalation. ``link_status`` is the outbox of the SMS
    carrying the customer's link (none | pending | sent | failed). ``customer_via`` is how the
    customer last wrote (``link`` before they wrote at all, ``web`` or ``sms``), and
    ``customer_seen_at`` when their web page last showed it was open: an agent's message also
    goes out by SMS to a customer who writes by SMS or has no chat page open.
    """

    __tablename__ = "chat_sessions"
    __table_args__ = (
        CheckConstraint(_one_of("status", CHAT_STATUSES), name="status"),
        CheckConstraint(_one_of("link_status", SMS_STATUSES), name="link_status"),
        Index(None, "status", "waiting_since"),
        Index(None, "link_status"),
        Index(
            "uq_chat_sessions_open_phone",
            "phone",
            unique=True,
            sqlite_where=literal_column("status IN ('waiting', 'active')"),
            postgresql_where=literal_column("status IN ('waiting', 'active')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    phone: Mapped[str] = mapped_column(String(16))
    # The number the customer dialled: texts to them come from it.
    from_number: Mapped[str | None] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    status: Mapped[str] = mapped_column(String(16))
    waiting_since: Mapped[datetime]
    created_at: Mapped[datetime]
    taken_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    link_status: Mapped[str] = mapped_column(String(16))
    customer_via: Mapped[str] = mapped_column(String(16))
    customer_seen_at: Mapped[datetime | None]
    # The Twilio Conversation carrying the chat, when that adapter is used.
    conversation_sid: Mapped[str | None] = mapped_column(Text, unique=True)
    updated_at: Mapped[datetime]


class ChatMessage(Base):
    """One message of a chat; ids grow, so a reconnecting page resumes after the last it saw.

    ``client_id`` makes a resent message (a page retrying after a dropped socket) count once;
    ``external_sid`` does the same for Twilio's inbound MessageSid. ``sms_status`` is the
    outbox of an agent's message that also goes to the customer's phone.
    """

    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint(_one_of("sender", CHAT_SENDERS), name="sender"),
        CheckConstraint(_one_of("via", CHAT_VIA), name="via"),
        CheckConstraint(_one_of("sms_status", SMS_STATUSES), name="sms_status"),
        UniqueConstraint("session_id", "client_id"),
        Index(None, "session_id", "id"),
        Index(None, "sms_status"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("chat_sessions.id"))
    sender: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    client_id: Mapped[str | None] = mapped_column(Text)
    external_sid: Mapped[str | None] = mapped_column(Text, unique=True)
    sms_status: Mapped[str] = mapped_column(String(16))
    sms_sid: Mapped[str | None] = mapped_column(Text)


def instant(at: datetime) -> BindParameter[datetime]:
    """``at`` as a bound UTC instant, for use inside SQL expressions (``coalesce(col, at)``).

    A bare datetime inside a SQL function is bound as a plain ``DateTime``, which on SQLite would
    store the local wall time of a non-UTC value; this binds it through :class:`UtcDateTime`.
    """
    return literal(at, UtcDateTime())
