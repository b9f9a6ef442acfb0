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


def test_a_signature_over_the_url_without_its_port_is_accepted_at_that_port() -> None:
    """Finding 12 (issue 10): twilio's validator also tries the URL without its port.

    A request signed for ``https://ivr.example.com/…`` is accepted by a deployment whose public
    URL is ``https://ivr.example.com:8443/…`` when both share an auth token (SECURITY.md).
    """
    params = {"CallSid": "CA" + "0" * 32, "From": "+821012345678"}
    signed_without_port = RequestValidator(TOKEN).compute_signature(
        "https://ivr.example.com/twilio/voice", params
    )
    at_another_port = "https://ivr.example.com:8443/twilio/voice"
    assert is_signed_by_twilio(TOKEN, at_another_port, params, signed_without_port)
    # Not the other way round: a signature over the port-8443 URL fits only that URL.
    signed_with_port = RequestValidator(TOKEN).compute_signature(at_another_port, params)
    assert not is_signed_by_twilio(
        TOKEN, "https://ivr.example.com/twilio/voice", params, signed_with_port
    )
    # A default port written out or left off is the same URL to the validator.
    signed_default = RequestValidator(TOKEN).compute_signature(
        "https://ivr.example.com:443/twilio/voice", params
    )
    assert is_signed_by_twilio(
        TOKEN, "https://ivr.example.com/twilio/voice", params, signed_default
    )
    # Another token never validates, whatever the URL.
    assert not is_signed_by_twilio("other-token", at_another_port, params, signed_without_port)
