"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from aiohttp import web

from web.keys import JOURNAL, MENUS, STORE

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready to take calls: a menu is published and the database answers (or the journal).

    ``ready``: the database answers and nothing waits in the journal. ``degraded`` (still 200):
    the database does not answer, or the journal is still being replayed; calls get the outage
    route and writes are journaled, so a load balancer must keep sending webhooks here (every
    instance shares the database: taking them all out would leave callers with no answer at
    all). ``not ready`` (503): no menu is published.
    """
    checks: dict[str, str] = {}
    try:
        await request.app[STORE].ping()
        checks["database"] = "ok"
    except Exception as err:  # a probe reports failure; it never raises
        log.warning("readiness: database check failed: %s", err)
        checks["database"] = f"failed: {type(err).__name__}"
    try:
        checks["menu"] = request.app[MENUS].published.id
    except LookupError:
        checks["menu"] = "failed: none published"
    journal = request.app[JOURNAL]
    depth = {"depth": journal.depth, "set_aside": journal.set_aside}
    if checks["menu"].startswith("failed"):
        status = "not ready"
    elif checks["database"] != "ok" or journal.depth:
        status = "degraded"
    else:
        status = "ready"
    return web.json_response(
        {"status": status, "checks": checks, "journal": depth},
        status=503 if status == "not ready" else 200,
    )


def routes() -> list[web.RouteDef]:
    """The probe routes."""
    return [web.get("/healthz", healthz), web.get("/readyz", readyz)]
