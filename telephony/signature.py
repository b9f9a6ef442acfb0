"""Twilio request signatures (``X-Twilio-Signature``), checked against the public URL."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def public_request_url(public_url: str, path_qs: str) -> str:
    """The URL Twilio requested: the configured public base plus path and query.

    Behind a TLS-terminating proxy the socket sees an internal URL, so signatures are always
    checked against the base URL Twilio was given, never ``request.url``.
    """
    return public_url.rstrip("/") + path_qs


def is_signed_by_twilio(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """Whether ``signature`` is Twilio's HMAC of ``url`` and the POST ``params``.

    Args:
        auth_token: The account's auth token; an empty token accepts nothing.
        url: The full public URL of the request, query included.
        params: The form parameters of a POST (empty for GET).
        signature: The ``X-Twilio-Signature`` header, if any.

    """
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))
