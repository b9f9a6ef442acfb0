"""Initial history schema: customers, interactions, events, calls, API keys, menu versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("phone", name=op.f("uq_customers_phone")),
    )
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("call_sid", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("started_at", _instant(), nullable=False),
        sa.Column("ended_at", _instant(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("menu_id", sa.Text(), nullable=True),
        sa.Column("last_seq", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "channel IN ('callback', 'chat', 'voice')", name=op.f("ck_interactions_channel")
        ),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_interactions_direction")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_interactions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["interactions.id"], name=op.f("fk_interactions_parent_id_interactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_interactions_call_sid")),
    )
    op.create_index(
        op.f("ix_interactions_customer_id_started_at"),
        "interactions",
        ["customer_id", "started_at"],
    )
    op.create_index(op.f("ix_interactions_parent_id"), "interactions", ["parent_id"])
    op.create_table(
        "interaction_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_events_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_events")),
        sa.UniqueConstraint(
            "interaction_id", "seq", name=op.f("uq_interaction_events_interaction_id_seq")
        ),
        sa.UniqueConstraint(
            "interaction_id", "key", name=op.f("uq_interaction_events_interaction_id_key")
        ),
    )
    op.create_table(
        "calls",
        sa.Column("call_sid", sa.Text(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("menu_id", sa.Text(), nullable=False),
        sa.Column("menu_checksum", sa.Text(), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_response", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("started_at", _instant(), nullable=False),
        sa.Column("updated_at", _instant(), nullable=False),
        sa.Column("ended_at", _instant(), nullable=True),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_calls_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("call_sid", name=op.f("pk_calls")),
    )
    op.create_index(op.f("ix_calls_interaction_id"), "calls", ["interaction_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("revoked_at", _instant(), nullable=True),
        sa.Column("last_used_at", _instant(), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'agent', 'supervisor')", name=op.f("ck_api_keys_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_keys_digest")),
    )
    op.create_table(
        "menu_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("menu_id", sa.Text(), nullable=False),
        sa.Column("checksum", sa.Text(), nullable=False),
        sa.Column("content", _json(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published')", name=op.f("ck_menu_versions_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_menu_versions")),
        sa.UniqueConstraint("checksum", name=op.f("uq_menu_versions_checksum")),
    )
    op.create_index(op.f("ix_menu_versions_menu_id"), "menu_versions", ["menu_id"])


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_index(op.f("ix_menu_versions_menu_id"), table_name="menu_versions")
    op.drop_table("menu_versions")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_calls_interaction_id"), table_name="calls")
    op.drop_table("calls")
    op.drop_table("interaction_events")
    op.drop_index(op.f("ix_interactions_parent_id"), table_name="interactions")
    op.drop_index(op.f("ix_interactions_customer_id_started_at"), table_name="interactions")
    op.drop_table("interactions")
    op.drop_table("customers")
