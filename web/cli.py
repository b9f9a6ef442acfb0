"""The ``voicedesk`` command: serve, migrate, check-menu, create-api-key, call."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from calls.service import utc_now
from config.loader import check_menu_file
from config.settings import Settings
from history.db import create_engine
from history.migrate import upgrade, upgrade_sync
from history.store import SqlHistoryStore
from telephony.simulator import cli as simulator_cli
from web import logs
from web.app import create_app

ROLES = ("admin", "supervisor", "agent")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``voicedesk`` subcommand; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check-menu":
        return _check_menu(Path(args.file))
    try:
        settings = Settings()
    except ValidationError as err:
        for problem in err.errors():
            key = "VOICEDESK_" + "__".join(str(p) for p in problem["loc"]).upper()
            print(f"configuration error: {key}: {problem['msg']}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    match args.command:
        case "serve":
            return _serve(settings, args)
        case "migrate":
            upgrade_sync(settings.database_url)
            print(f"database migrated: {_safe_url(settings.database_url)}")
            return 0
        case "create-api-key":
            token = asyncio.run(_create_api_key(settings, args.role, args.name, args.agent))
            print(token)
            return 0
        case "call":
            return asyncio.run(simulator_cli.run_from_args(_call_defaults(args, settings)))
    parser.print_help()
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicedesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the IVR (migrates an embedded SQLite first)")
    serve.add_argument("--host", help="override VOICEDESK_HOST")
    serve.add_argument("--port", type=int, help="override VOICEDESK_PORT")
    sub.add_parser("migrate", help="bring the database schema up to date")
    check = sub.add_parser("check-menu", help="validate a menu file; non-zero exit if broken")
    check.add_argument("file")
    key = sub.add_parser("create-api-key", help="create an API key; prints the token once")
    key.add_argument("--role", choices=ROLES, required=True)
    key.add_argument("--name", default="", help="who or what the key is for")
    key.add_argument("--agent", type=int, help="with --role agent: the agent id it acts for")
    call = sub.add_parser("call", help="place a simulated call against a running server")
    simulator_cli.add_call_arguments(call)
    return parser


def _check_menu(path: Path) -> int:
    issues = check_menu_file(path)
    for issue in issues:
        print(f"{path}: {issue}")
    if issues:
        print(f"{path}: {len(issues)} problem(s); menu refused", file=sys.stderr)
        return 1
    print(f"{path}: ok")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    host = args.host or settings.host
    port = args.port or settings.port
    if not settings.twilio_auth_token.get_secret_value():
        print(
            "configuration error: VOICEDESK_TWILIO_AUTH_TOKEN is empty; every webhook "
            "would be refused",
            file=sys.stderr,
        )
        return 2
    web.run_app(create_app(settings), host=host, port=port, access_log=None)
    return 0


async def _create_api_key(settings: Settings, role: str, name: str, agent: int | None) -> str:
    if settings.database_url.startswith("sqlite"):
        await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    store = SqlHistoryStore(engine)
    try:
        return await store.create_api_key(
            role=role, name=name or role, at=utc_now(), agent_id=agent
        )
    finally:
        await store.close()
        await engine.dispose()


def _call_defaults(args: argparse.Namespace, settings: Settings) -> argparse.Namespace:
    """Fill the simulator's Twilio-side options from the settings the server also reads."""
    args.auth_token = args.auth_token or settings.twilio_auth_token.get_secret_value()
    args.account_sid = args.account_sid or settings.twilio_account_sid
    args.public_url = args.public_url or settings.public_url
    if args.url == simulator_cli.DEFAULT_SERVER_URL:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        args.url = f"http://{host}:{settings.port}"
    return args


def _safe_url(url: str) -> str:
    head, sep, tail = url.partition("@")
    return f"{head.split('//')[0]}//***@{tail}" if sep else url


if __name__ == "__main__":
    raise SystemExit(main())
