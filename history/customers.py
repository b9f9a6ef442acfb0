"""Customers, known by their E.164 phone number."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select

from history.db import insert_or_ignore
from history.models import Customer

# '+', a non-zero country code digit, at most 15 digits in all (ITU-T E.164).
E164: Final = re.compile(r"\+[1-9]\d{1,14}")


def is_e164(phone: str) -> bool:
    """Whether ``phone`` is an E.164 number (Twilio also sends ``anonymous``, ``client:…``)."""
    return E164.fullmatch(phone) is not None


def ensure_customer(conn: Connection, phone: str, at: datetime) -> int | None:
    """The id of the customer with ``phone``, created if new; race-safe on both databases.

    Returns:
        The id, or None when ``phone`` is not an E.164 number (withheld or a SIP/client
        identity): such contacts belong to nobody's timeline.

    """
    if not is_e164(phone):
        return None
    conn.execute(
        insert_or_ignore(
            conn.dialect, Customer, {"phone": phone, "created_at": at}, unique=["phone"]
        )
    )
    return find_customer(conn, phone)


def find_customer(conn: Connection, phone: str) -> int | None:
    """The id of the customer with ``phone``, or None when nobody has it."""
    return conn.scalar(select(Customer.id).where(Customer.phone == phone))
