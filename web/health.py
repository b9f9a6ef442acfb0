"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from aiohttp import web

from web.keys import MENUS, STORE

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready to take calls: the database answers and a menu is published."""
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
    ready = checks["database"] == "ok" and not checks["menu"].startswith("failed")
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def routes() -> list[web.RouteDef]:
    """The probe routes."""
    return [web.get("/healthz", healthz), web.get("/readyz", readyz)]
