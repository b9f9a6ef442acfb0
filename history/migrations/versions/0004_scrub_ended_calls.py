"""Scrub calls that ended before every ending masked sensitive values (a one-off data fix).

Until this revision a call ended by the menu's own hang-up kept its sensitive collected values
(an account number) in clear in ``calls.state``: only a status callback's ending masked them.
Every ended call row is rewritten as the call service now leaves one: each variable that a
``sensitive`` collect node of the call's pinned menu version collects is masked (one ``*`` per
character, as :func:`calls.recording.mask` does), and the last wait's prompts and the choice
being confirmed (a read-back of the value) are dropped. A call whose menu version is missing
has every variable masked: nothing says which were safe to keep.

The rule is restated here rather than imported: a migration must keep meaning what it meant
when it shipped, whatever the application's code later becomes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MASK = "*"
# Rows rewritten per statement batch: bounded memory on a large history.
BATCH = 500

_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
calls = sa.table(
    "calls",
    sa.column("call_sid", sa.Text()),
    sa.column("menu_checksum", sa.Text()),
    sa.column("state", _json),
    sa.column("ended_at", sa.DateTime(timezone=True)),
)
menu_versions = sa.table(
    "menu_versions", sa.column("checksum", sa.Text()), sa.column("content", _json)
)


def _sensitive_variables(document: Any) -> Iterator[str]:
    # Any mapping of the menu document that is a sensitive collect node names its variable.
    if isinstance(document, dict):
        if document.get("sensitive") is True and isinstance(document.get("variable"), str):
            yield document["variable"]
        for value in document.values():
            yield from _sensitive_variables(value)
    elif isinstance(document, list):
        for item in document:
            yield from _sensitive_variables(item)


def _scrubbed(state: dict[str, Any], sensitive: set[str] | None) -> dict[str, Any]:
    variables = dict(state.get("variables") or {})
    masked = {
        name: MASK * len(str(value)) if sensitive is None or name in sensitive else value
        for name, value in variables.items()
    }
    return {**state, "variables": masked, "prompts": [], "confirming": None}


def upgrade() -> None:
    """Mask the sensitive values of every ended call."""
    conn = op.get_bind()
    menus = {
        checksum: set(_sensitive_variables(content))
        for checksum, content in conn.execute(
            sa.select(menu_versions.c.checksum, menu_versions.c.content)
        )
    }
    query = (
        sa.select(calls.c.call_sid, calls.c.menu_checksum, calls.c.state)
        .where(calls.c.ended_at.is_not(None))
        .order_by(calls.c.call_sid)
    )
    after = ""
    while True:
        rows = conn.execute(query.where(calls.c.call_sid > after).limit(BATCH)).all()
        if not rows:
            return
        for call_sid, checksum, state in rows:
            scrubbed = _scrubbed(dict(state or {}), menus.get(checksum))
            if scrubbed != state:
                conn.execute(
                    calls.update().where(calls.c.call_sid == call_sid).values(state=scrubbed)
                )
        after = rows[-1][0]


def downgrade() -> None:
    """Nothing to undo: masked values cannot be restored (that is the point)."""
