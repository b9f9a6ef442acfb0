"""Webhook signatures are Twilio's, over the public URL."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from telephony.signature import is_signed_by_twilio, public_request_url

TOKEN = "auth-token"
PARAMS = {"CallSid": "CA1", "Digits": "1"}


def test_public_url_keeps_path_and_query() -> None:
    assert (
        public_request_url("https://ivr.example.com/", "/twilio/gather?turn=2")
        == "https://ivr.example.com/twilio/gather?turn=2"
    )


def test_twilio_signature_over_the_public_url_is_accepted() -> None:
    url = "https://ivr.example.com/twilio/gather?turn=2"
    signature = RequestValidator(TOKEN).compute_signature(url, PARAMS)
    assert is_signed_by_twilio(TOKEN, url, PARAMS, signature)


def test_changed_parameter_or_url_is_refused() -> None:
    url = "https://ivr.example.com/twilio/gather?turn=2"
    signature = RequestValidator(TOKEN).compute_signature(url, PARAMS)
    assert not is_signed_by_twilio(TOKEN, url, PARAMS | {"Digits": "2"}, signature)
    assert not is_signed_by_twilio(TOKEN, url.replace("turn=2", "turn=3"), PARAMS, signature)


def test_missing_signature_or_token_is_refused() -> None:
    url = "https://ivr.example.com/twilio/voice"
    assert not is_signed_by_twilio(TOKEN, url, PARAMS, None)
    signature = RequestValidator("").compute_signature(url, PARAMS)
    assert not is_signed_by_twilio("", url, PARAMS, signature)
