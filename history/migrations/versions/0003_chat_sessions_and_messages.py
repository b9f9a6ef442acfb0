"""Chats: chat sessions (escalated from calls, with their context) and their messages.

The partial unique index keeps at most one open (waiting or active) chat per customer phone,
on both databases; message ids grow, so a reconnecting page resumes after the last it saw.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("from_number", sa.String(length=16), nullable=True),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column(
            "context",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("link_status", sa.String(length=16), nullable=False),
        sa.Column("customer_via", sa.String(length=16), nullable=False),
        sa.Column("customer_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conversation_sid", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "link_status IN ('failed', 'none', 'pending', 'sent')",
            name=op.f("ck_chat_sessions_link_status"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'closed', 'waiting')", name=op.f("ck_chat_sessions_status")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_chat_sessions_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_chat_sessions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_chat_sessions_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
        sa.UniqueConstraint("conversation_sid", name=op.f("uq_chat_sessions_conversation_sid")),
        sa.UniqueConstraint("interaction_id", name=op.f("uq_chat_sessions_interaction_id")),
    )
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_sessions_link_status"), ["link_status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_sessions_status_waiting_since"),
            ["status", "waiting_since"],
            unique=False,
        )
        batch_op.create_index(
            "uq_chat_sessions_open_phone",
            ["phone"],
            unique=True,
            sqlite_where=sa.text("status IN ('waiting', 'active')"),
            postgresql_where=sa.text("status IN ('waiting', 'active')"),
        )

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("external_sid", sa.Text(), nullable=True),
        sa.Column("sms_status", sa.String(length=16), nullable=False),
        sa.Column("sms_sid", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "sender IN ('agent', 'customer', 'system')", name=op.f("ck_chat_messages_sender")
        ),
        sa.CheckConstraint(
            "sms_status IN ('failed', 'none', 'pending', 'sent')",
            name=op.f("ck_chat_messages_sms_status"),
        ),
        sa.CheckConstraint(
            "via IN ('console', 'conversations', 'sms', 'web')", name=op.f("ck_chat_messages_via")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_chat_messages_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_messages_session_id_chat_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("external_sid", name=op.f("uq_chat_messages_external_sid")),
        sa.UniqueConstraint(
            "session_id", "client_id", name=op.f("uq_chat_messages_session_id_client_id")
        ),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_messages_session_id_id"), ["session_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_messages_sms_status"), ["sms_status"], unique=False
        )


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_messages_sms_status"))
        batch_op.drop_index(batch_op.f("ix_chat_messages_session_id_id"))

    op.drop_table("chat_messages")
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_chat_sessions_open_phone",
            sqlite_where=sa.text("status IN ('waiting', 'active')"),
            postgresql_where=sa.text("status IN ('waiting', 'active')"),
        )
        batch_op.drop_index(batch_op.f("ix_chat_sessions_status_waiting_since"))
        batch_op.drop_index(batch_op.f("ix_chat_sessions_link_status"))

    op.drop_table("chat_sessions")
