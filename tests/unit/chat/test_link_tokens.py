"""Customers' chat links: genuine ones open their chat; expired, forged or moved ones do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat.tokens import LinkProblem, LinkSigner, parse

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
PHONE = "+821012345678"
DAY = timedelta(days=1)


def signer(secret: str = "s3cret") -> LinkSigner:
    return LinkSigner(secret, DAY)


def check(
    token: str, phone: str = PHONE, now: datetime = NOW, by: LinkSigner | None = None
) -> LinkProblem | None:
    claim = parse(token)
    if claim is None:
        return LinkProblem.INVALID
    return (by or signer()).verify(claim, phone, now)


def test_a_fresh_link_opens_its_chat_until_it_expires() -> None:
    token = signer().issue(42, PHONE, NOW)
    claim = parse(token)
    assert claim is not None and claim.chat_id == 42
    assert check(token) is None
    assert check(token, now=NOW + DAY - timedelta(seconds=1)) is None
    assert check(token, now=NOW + DAY + timedelta(seconds=1)) is LinkProblem.EXPIRED


def test_a_link_is_short_enough_for_a_text() -> None:
    assert len(signer().issue(2**31 - 1, PHONE, NOW)) <= 45


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("42.", "43.", 1),
        lambda t: "42." + str(int(t.split(".")[1]) + 86400) + "." + t.split(".")[2],
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.rsplit(".", 1)[0] + ".",
        lambda t: t + "x",
        lambda t: t.replace(".", "", 1),
    ],
    ids=["other chat", "later expiry", "signature", "no signature", "suffix", "merged"],
)
def test_any_change_to_a_link_makes_it_invalid(change) -> None:  # type: ignore[no-untyped-def]
    token = signer().issue(42, PHONE, NOW)
    assert check(change(token)) is LinkProblem.INVALID


def test_a_tampered_expired_link_is_invalid_not_expired() -> None:
    token = signer().issue(42, PHONE, NOW - 3 * DAY)
    assert check(token) is LinkProblem.EXPIRED
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert check(forged) is LinkProblem.INVALID


def test_a_link_opens_only_the_chat_of_the_customer_it_was_sent_to() -> None:
    token = signer().issue(42, PHONE, NOW)
    assert check(token, phone="+821099998888") is LinkProblem.INVALID


def test_a_link_from_another_secret_is_invalid() -> None:
    token = signer("one secret").issue(42, PHONE, NOW)
    assert check(token, by=signer("another secret")) is LinkProblem.INVALID


@pytest.mark.parametrize(
    "token",
    ["", "abc", "1.2", "0.99999999999.sig", "-1.5.sig", "1.x.sig", "١.٢.sig", "1.2.", "9" * 90],
)
def test_malformed_tokens_are_not_parsed(token: str) -> None:
    assert parse(token) is None


def test_a_secret_is_required() -> None:
    with pytest.raises(ValueError, match="secret"):
        LinkSigner("", DAY)
