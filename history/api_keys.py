"""API keys: random bearer tokens of which only the SHA-256 digest is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, func, insert, or_, select, update

from history.models import MAX_ID, ROLES, Agent, ApiKey, instant
from history.records import ApiKeyInfo

# Recognisable in logs and by secret scanners; not part of the secret.
TOKEN_PREFIX: Final = "vdk_"
# 32 random bytes = 256 bits: guessing is hopeless, so a fast unsalted hash is enough.
TOKEN_BYTES: Final = 32
# Real tokens are 47 characters; anything far longer is refused before hashing it.
MAX_TOKEN_LENGTH: Final = 128
# last_used_at is "roughly when", for admins spotting stale keys. Writing it on every request
# would turn each authenticated read into a write (on SQLite, into the single write lock), so
# it is refreshed at most once per key per this interval.
LAST_USED_RESOLUTION: Final = timedelta(minutes=1)


def token_digest(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    conn: Connection, *, role: str, name: str, at: datetime, agent_id: int | None = None
) -> str:
    """Store a new key's digest and return the token (shown once, never stored).

    Raises:
        ValueError: An unknown role, or an agent id with another role than ``agent``, or an
            unknown agent.

    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, not {role!r}")
    if agent_id is not None:
        if role != "agent":
            raise ValueError("only an agent key can act for an agent")
        if conn.scalar(select(Agent.id).where(Agent.id == agent_id)) is None:
            raise ValueError(f"no agent has id {agent_id}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    conn.execute(
        insert(ApiKey).values(
            name=name, role=role, digest=token_digest(token), created_at=at, agent_id=agent_id
        )
    )
    return token


def find_active(conn: Connection, token: str) -> tuple[ApiKeyInfo, datetime | None] | None:
    """The unrevoked key the token belongs to and when it was last used, or None.

    The lookup is by digest, so response time depends on the digest, never on how much of a
    real token a guess shares: no timing side channel on the secret.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = conn.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.last_used_at, ApiKey.agent_id).where(
            ApiKey.digest == token_digest(token), ApiKey.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    key = ApiKeyInfo(id=row.id, name=row.name, role=row.role, agent_id=row.agent_id)
    return key, row.last_used_at


def needs_touch(last_used_at: datetime | None, at: datetime) -> bool:
    """Whether ``last_used_at`` is older than the resolution it is kept at."""
    return last_used_at is None or at - last_used_at >= LAST_USED_RESOLUTION


def touch(conn: Connection, key_id: int, at: datetime) -> None:
    """Move the key's last_used_at forward to ``at`` (never backwards)."""
    conn.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < at))
        .values(last_used_at=at)
    )


def revoke(conn: Connection, key_id: int, at: datetime) -> bool:
    """Revoke the key (keeping the first revocation time); False when there is no such key."""
    if not 0 < key_id <= MAX_ID:
        return False
    revoked = conn.scalar(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(revoked_at=func.coalesce(ApiKey.revoked_at, instant(at)))
        .returning(ApiKey.id)
    )
    return revoked is not None
