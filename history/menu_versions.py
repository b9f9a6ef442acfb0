"""Published menu documents, immutable and addressed by checksum; calls pin the one they use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select

from history.db import insert_or_ignore
from history.models import MenuVersion

PUBLISHED: Final = "published"


def save(
    conn: Connection,
    *,
    menu_id: str,
    checksum: str,
    content: Mapping[str, Any],
    author: str | None,
    at: datetime,
) -> None:
    """Store the version unless its checksum is already stored (same checksum, same content)."""
    values = {
        "menu_id": menu_id,
        "checksum": checksum,
        "content": dict(content),
        "status": PUBLISHED,
        "author": author,
        "created_at": at,
    }
    conn.execute(insert_or_ignore(conn.dialect, MenuVersion, values, unique=["checksum"]))


def load(conn: Connection, checksum: str) -> dict[str, Any] | None:
    """The stored menu document with ``checksum``, or None."""
    content = conn.scalar(select(MenuVersion.content).where(MenuVersion.checksum == checksum))
    return None if content is None else dict(content)
