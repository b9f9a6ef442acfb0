"""Read models over the history: a customer's timeline and one interaction in full."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Select, func, select

from history.customers import find_customer
from history.models import MAX_ID, Customer, Interaction, InteractionEvent
from history.records import EventRecord, InteractionDetail, InteractionSummary


def _summaries() -> Select[Any]:
    event_count = (
        select(func.count())
        .where(InteractionEvent.interaction_id == Interaction.id)
        .correlate(Interaction)
        .scalar_subquery()
    )
    return select(
        Interaction.id,
        Interaction.channel,
        Interaction.direction,
        Interaction.call_sid,
        Interaction.started_at,
        Interaction.ended_at,
        Interaction.outcome,
        Interaction.parent_id,
        Interaction.menu_id,
        event_count.label("event_count"),
    )


def _summary(row: Row[Any]) -> InteractionSummary:
    m = row._mapping
    return InteractionSummary(
        id=m["id"],
        channel=m["channel"],
        direction=m["direction"],
        call_sid=m["call_sid"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        outcome=m["outcome"],
        parent_id=m["parent_id"],
        menu_id=m["menu_id"],
        event_count=int(m["event_count"]),
    )


def customer_timeline(conn: Connection, phone: str, limit: int) -> list[InteractionSummary] | None:
    """The customer's interactions, newest first, or None when no customer has ``phone``."""
    customer_id = find_customer(conn, phone)
    if customer_id is None:
        return None
    rows = conn.execute(
        _summaries()
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return [_summary(row) for row in rows]


def interaction_detail(conn: Connection, interaction_id: int) -> InteractionDetail | None:
    """The interaction, its customer's phone and its events by ``seq``; None when unknown."""
    if not 0 < interaction_id <= MAX_ID:
        return None
    row = conn.execute(
        _summaries()
        .add_columns(Customer.phone)
        .outerjoin(Customer, Customer.id == Interaction.customer_id)
        .where(Interaction.id == interaction_id)
    ).first()
    if row is None:
        return None
    events = conn.execute(
        select(
            InteractionEvent.seq,
            InteractionEvent.at,
            InteractionEvent.type,
            InteractionEvent.payload,
        )
        .where(InteractionEvent.interaction_id == interaction_id)
        .order_by(InteractionEvent.seq)
    )
    return InteractionDetail(
        summary=_summary(row),
        customer_phone=row._mapping["phone"],
        events=tuple(EventRecord(e.seq, e.at, e.type, e.payload) for e in events),
    )
