from datetime import UTC, datetime, timedelta

from telephony.stream_token import StreamGrant, issue, verify

SECRET = "0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CALL = "CA" + "1" * 32


def test_a_fresh_token_admits_its_call_and_turn():
    token = issue(SECRET, StreamGrant(CALL, 7), NOW)
    assert verify(SECRET, token, CALL, NOW + timedelta(seconds=5)) == StreamGrant(CALL, 7)


def test_an_expired_token_is_refused():
    token = issue(SECRET, StreamGrant(CALL, 7), NOW, ttl=timedelta(seconds=30))
    assert verify(SECRET, token, CALL, NOW + timedelta(seconds=31)) is None


def test_a_token_for_another_call_is_refused():
    token = issue(SECRET, StreamGrant(CALL, 7), NOW)
    assert verify(SECRET, token, "CA" + "2" * 32, NOW) is None


def test_a_token_signed_with_another_secret_is_refused():
    token = issue("another secret", StreamGrant(CALL, 7), NOW)
    assert verify(SECRET, token, CALL, NOW) is None


def test_a_tampered_turn_or_expiry_is_refused():
    sid, turn, expires, mac = issue(SECRET, StreamGrant(CALL, 7), NOW).split(".")
    assert verify(SECRET, f"{sid}.8.{expires}.{mac}", CALL, NOW) is None
    assert verify(SECRET, f"{sid}.{turn}.{int(expires) + 3600}.{mac}", CALL, NOW) is None


def test_missing_and_malformed_tokens_are_refused():
    for token in (None, "", "garbage", "a.b.c", "a.b.c.d.e", f"{CALL}.x.y.z"):
        assert verify(SECRET, token, CALL, NOW) is None
