"""Run the REST stand-in from the terminal: ``python -m telephony.simulator.stand_in_cli``.

It listens until interrupted; point voicedesk at it with ``VOICEDESK_TWILIO_API_BASE``. Nothing
here reads the environment: an entry point that knows the settings passes them as argument
defaults (``parser.set_defaults(account_sid=…, auth_token=…, server_url=…)``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Final, get_args

from telephony.simulator.phones import Behaviour, Phone, PhoneBook, PhoneMode
from telephony.simulator.rest_api import LOCALHOST, RestStandIn

DEFAULT_PORT: Final = 8089
"""Next to voicedesk's default 8080, so the two can run side by side."""

Output = Callable[[str], None]


def add_stand_in_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the stand-in's options to ``parser``."""
    parser.add_argument("--account-sid", required=True, help="the account SID it serves")
    parser.add_argument("--auth-token", required=True, help="its auth token (Basic auth, signing)")
    parser.add_argument("--host", default=LOCALHOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument(
        "--server-url", help="where webhooks connect (default: the URLs as given over REST)"
    )
    parser.add_argument("--public-url", help="the public base URL of those webhooks")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="real seconds per simulated second of ringing and talking (0: no waiting)",
    )
    parser.add_argument("--mode", choices=get_args(PhoneMode), default="signal_only")
    parser.add_argument("--ring-seconds", type=int, default=5)
    parser.add_argument("--talk-seconds", type=int, default=30)
    parser.add_argument(
        "--phone",
        action="append",
        default=[],
        metavar="NUMBER=BEHAVIOUR",
        help=f"how one number behaves ({', '.join(get_args(Behaviour))}); repeatable",
    )


def phone_book(args: argparse.Namespace) -> PhoneBook:
    """The phones the options describe.

    Raises:
        ValueError: A ``--phone`` that is not ``NUMBER=BEHAVIOUR``.

    """
    default = Phone(mode=args.mode, ring_seconds=args.ring_seconds, talk_seconds=args.talk_seconds)
    phones: dict[str, Phone] = {}
    for entry in args.phone:
        number, sep, behaviour = str(entry).partition("=")
        if not sep or behaviour not in get_args(Behaviour):
            raise ValueError(f"--phone {entry!r} is not NUMBER=BEHAVIOUR")
        phones[number] = Phone(
            behaviour=behaviour,  # type: ignore[arg-type]  # checked just above
            mode=default.mode,
            ring_seconds=default.ring_seconds,
            talk_seconds=default.talk_seconds,
        )
    return PhoneBook.of(phones, default)


TEXT_POLL_SECONDS: Final = 0.5


async def serve(args: argparse.Namespace, out: Output = print) -> None:
    """Listen until cancelled (Ctrl-C), then stop the calls still running."""
    stand_in = RestStandIn(
        args.account_sid,
        args.auth_token,
        server_url=args.server_url,
        public_url=args.public_url,
        phones=phone_book(args),
        time_scale=args.time_scale,
    )
    url = await stand_in.start(args.host, args.port)
    out(f"Twilio REST stand-in on {url}: set VOICEDESK_TWILIO_API_BASE={url}")
    texts = asyncio.create_task(_print_texts(stand_in, out))
    try:
        await asyncio.Event().wait()
    finally:
        texts.cancel()
        await stand_in.close()
        record = stand_in.record
        out(f"{len(record.calls)} call(s), {len(record.messages)} message(s) placed")


async def _print_texts(stand_in: RestStandIn, out: Output) -> None:
    """Show each text as it is sent (a chat link, a confirmation): offline, this is the phone."""
    shown = 0
    while True:
        await asyncio.sleep(TEXT_POLL_SECONDS)
        for message in stand_in.record.messages[shown:]:
            out(f"SMS to {message.to} from {message.from_}: {message.body}")
        shown = len(stand_in.record.messages)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Twilio REST API stand-in (voicedesk simulator)")
    add_stand_in_arguments(parser)
    args = parser.parse_args(argv)
    try:
        phone_book(args)
    except ValueError as err:
        parser.error(str(err))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
