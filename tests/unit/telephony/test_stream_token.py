from datetime import UTC, datetime, timedelta

from telephony.stream_token import StreamGrant, _signature, issue, verify

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


def test_a_genuinely_signed_turn_in_other_digits_is_refused_not_raised():
    # Issue 10, finding 2: "²".isdigit() is true, and int("²") raised out of verify().
    for turn, expires in (("²", "1795000000"), ("7", "9" * 5000), ("①", "1795000000")):
        body = f"{CALL}.{turn}.{expires}"
        assert verify(SECRET, f"{body}.{_signature(SECRET, body)}", CALL, NOW) is None
