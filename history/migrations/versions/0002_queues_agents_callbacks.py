"""Queues, agents and callbacks: agents and their state events, queue members, callbacks.

Also links an API key to the agent it acts for. The partial unique index keeps at most one
open (pending or dialing) callback request per phone, on both databases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column(
            "queues",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("busy_with", sa.Text(), nullable=True),
        sa.Column("call_sid", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('available', 'busy', 'offline', 'wrap_up')", name=op.f("ck_agents_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("address", name=op.f("uq_agents_address")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agents_state_state_since"), ["state", "state_since"], unique=False
        )

    op.create_table(
        "agent_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_events_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_events")),
    )
    with op.batch_alter_table("agent_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_events_agent_id_at"), ["agent_id", "at"], unique=False
        )

    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("from_number", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("menu_checksum", sa.Text(), nullable=False),
        sa.Column("node", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("call_sid", sa.Text(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("agent_call_sid", sa.Text(), nullable=True),
        sa.Column("last_result", sa.Text(), nullable=True),
        sa.Column("sms_status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('queued', 'scheduled')", name=op.f("ck_callbacks_kind")),
        sa.CheckConstraint(
            "sms_status IN ('failed', 'none', 'pending', 'sent')",
            name=op.f("ck_callbacks_sms_status"),
        ),
        sa.CheckConstraint(
            "status IN ('cancelled', 'dialed', 'dialing', 'failed', 'pending', 'unknown')",
            name=op.f("ck_callbacks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_callbacks_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_callbacks_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_callbacks_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_callbacks_call_sid")),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callbacks_status_due_at"), ["status", "due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_callbacks_sms_status"), ["sms_status"], unique=False)
        batch_op.create_index(
            "uq_callbacks_open_phone",
            ["phone"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'dialing')"),
            postgresql_where=sa.text("status IN ('pending', 'dialing')"),
        )

    op.create_table(
        "queue_members",
        sa.Column("call_sid", sa.Text(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("node", sa.Text(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('connected', 'connecting', 'left', 'waiting')",
            name=op.f("ck_queue_members_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_queue_members_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_queue_members_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("call_sid", name=op.f("pk_queue_members")),
    )
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_queue_members_queue_status_enqueued_at"),
            ["queue", "status", "enqueued_at"],
            unique=False,
        )

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_agent_id_agents"), "agents", ["agent_id"], ["id"]
        )


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_keys_agent_id_agents"), type_="foreignkey")
        batch_op.drop_column("agent_id")

    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_members_queue_status_enqueued_at"))

    op.drop_table("queue_members")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_callbacks_open_phone",
            sqlite_where=sa.text("status IN ('pending', 'dialing')"),
            postgresql_where=sa.text("status IN ('pending', 'dialing')"),
        )
        batch_op.drop_index(batch_op.f("ix_callbacks_sms_status"))
        batch_op.drop_index(batch_op.f("ix_callbacks_status_due_at"))

    op.drop_table("callbacks")
    with op.batch_alter_table("agent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_events_agent_id_at"))

    op.drop_table("agent_events")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_state_state_since"))

    op.drop_table("agents")
