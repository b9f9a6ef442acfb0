"""The ``/api/`` routes' failures as short JSON: 503 while the database is away, never a trace.

Handlers raise aiohttp's ``HTTPException``s for what the client got wrong (400, 403, 404, 409);
those pass through untouched, and aiohttp's own plain-text refusals (no such route, a body too
large) are rewritten as the same JSON. What is left is ours: the history database being
unreachable, which answers 503 with ``Retry-After`` so an integration retries instead of giving
up, and a bug, which answers a bare 500 and is logged once with its traceback. A client never
sees a stack trace or an HTML error page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from history.db import HistoryUnavailableError

log = logging.getLogger(__name__)

API_PREFIX: Final = "/api/"
RETRY_AFTER_SECONDS: Final = 5
"""Seconds a client waits before retrying while the database is unavailable: a pooled connection
is awaited up to ``history.db.POOL_TIMEOUT_SECONDS`` (5 s), and a restarted PostgreSQL or a
released SQLite lock answers again within a few seconds; retrying sooner only adds load."""
UNAVAILABLE: Final = "the history database is unavailable; please retry shortly"
INTERNAL: Final = "internal error"
JSON: Final = "application/json"
_BODY_HEADERS: Final = frozenset({"content-type", "content-length"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer an ``/api/`` request's unexpected failure with a short JSON error."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as err:
        if err.status < 400 or err.content_type == JSON:
            raise
        # aiohttp's own refusals (no such route, method, body too large) say it in plain text.
        return _json_error(err.status, err.reason, _kept_headers(err))
    except HistoryUnavailableError as err:
        log.warning("API %s %r: %s", request.method, request.raw_path, err)
        return _json_error(
            web.HTTPServiceUnavailable.status_code,
            UNAVAILABLE,
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    except Exception:  # the app-wide last line of defence of the API: logged once, no trace out
        log.exception("API %s %r failed", request.method, request.raw_path)
        return _json_error(web.HTTPInternalServerError.status_code, INTERNAL)


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps({"error": message}), content_type=JSON, headers=headers
    )


def _kept_headers(err: web.HTTPException) -> dict[str, str]:
    """The refusal's own headers (``Allow``, ``Retry-After``…) without its body's."""
    return {k: v for k, v in err.headers.items() if k.lower() not in _BODY_HEADERS}
