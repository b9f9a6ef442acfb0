"""``voicedesk call``: place a simulated call from the terminal and tell what the caller hears.

Nothing here reads the environment: the entry point passes configured values as argument
defaults (``parser.set_defaults(account_sid=…, auth_token=…, public_url=…)``).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Final, get_args
from urllib.parse import urlsplit

from telephony.simulator.caller import place_call
from telephony.simulator.scenario import (
    DEFAULT_CALLED,
    DEFAULT_CALLER,
    SILENT_ENTRIES,
    CallerConfig,
    DialStatus,
    QueueOutcome,
)
from telephony.simulator.transcript import (
    Dialed,
    Enqueued,
    Gathered,
    GatherPrompt,
    Heard,
    HungUp,
    InputProvider,
    Noted,
    Paused,
    Rejected,
    Requested,
    SimulationError,
    Step,
)
from telephony.simulator.twiml_rules import TwimlRejected

Output = Callable[[str], None]

DEFAULT_SERVER_URL: Final = "http://127.0.0.1:8080"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
SHORT_NAME: Final = 8
"""Characters: longer file names (content hashes) are shown as their first four and '…'."""

_KEYS: Final = frozenset("0123456789*#")


def add_call_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``voicedesk call`` options to ``parser``.

    Destinations: ``url``, ``public_url``, ``caller``, ``called``, ``digits``,
    ``account_sid``, ``auth_token``, ``dial_status``, ``queue_result``, ``queue_seconds``,
    ``dial_duration``, ``any_audio``.
    """
    add = parser.add_argument
    add("--url", default=DEFAULT_SERVER_URL, help="the voicedesk server to connect to")
    add("--public-url", help="base URL Twilio signs against (the server's public URL)")
    add("--from", dest="caller", default=DEFAULT_CALLER, help="the calling number")
    add("--to", dest="called", default=DEFAULT_CALLED, help="the number called")
    add(
        "--digits",
        help="answers to the Gathers in order, comma-separated, e.g. 1,12345678#,- "
        "('-' stays silent; write --digits=-,1 when the first is '-'); "
        "omitted: ask at each Gather",
    )
    add("--account-sid", help="AccountSid sent with every webhook")
    add("--auth-token", help="auth token the webhooks are signed with")
    add("--dial-status", choices=get_args(DialStatus), default="completed")
    add("--dial-duration", type=int, default=30, help="seconds a completed Dial lasts")
    add("--queue-result", choices=get_args(QueueOutcome), default="hangup")
    add("--queue-seconds", type=int, default=60, help="seconds before the queue result")
    add("--any-audio", action="store_true", help="accept played audio that is not μ-law")


async def run_from_args(args: argparse.Namespace, *, out: Output = print) -> int:
    """Place the call ``args`` describe, printing each step as it happens.

    Args:
        args: Parsed ``add_call_arguments`` options.
        out: Where lines go.

    Returns:
        0 when the call ended normally, 1 when the simulation failed, 2 for bad options.

    """
    try:
        config = _config(args)
    except ValueError as err:
        out(f"voicedesk call: {err}")
        return EXIT_USAGE
    base = config.base_public_url
    provider = None if args.digits is not None else _ask_at_gather(out)
    out(f"calling {config.called} from {config.caller} via {config.base_server_url}")
    try:
        transcript = await place_call(
            config, input_provider=provider, on_step=lambda step: out(describe(step, base))
        )
    except (SimulationError, TwimlRejected) as err:
        out(f"simulation failed: {err.reason}")
        return EXIT_FAILED
    out(f"call {transcript.call_sid}: {transcript.final_status}, {transcript.duration_seconds} s")
    return EXIT_OK


def _config(args: argparse.Namespace) -> CallerConfig:
    if not args.auth_token:
        raise ValueError("no auth token: pass --auth-token (the server's Twilio auth token)")
    if not args.account_sid:
        raise ValueError("no account SID: pass --account-sid")
    digits = () if args.digits is None else tuple(args.digits.split(","))
    return CallerConfig(
        server_url=args.url,
        public_url=args.public_url,
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        caller=args.caller,
        called=args.called,
        digits=digits,
        dial_status=args.dial_status,
        dial_duration=args.dial_duration,
        queue_result=args.queue_result,
        queue_seconds=args.queue_seconds,
        require_mulaw=not args.any_audio,
    )


def _ask_at_gather(out: Output) -> InputProvider:
    async def ask(prompt: GatherPrompt) -> str | None:
        out(f"at Gather ({_gather_terms(prompt)}): keys to press, '-' for silence, Ctrl-D hangs up")
        while True:
            try:
                line = (await asyncio.to_thread(input, "keys> ")).strip()
            except EOFError:
                return None
            if line in SILENT_ENTRIES or set(line) <= _KEYS:
                return line
            out(f"{line!r}: press only 0-9, * and #")

    return ask


def _gather_terms(prompt: GatherPrompt) -> str:
    terms = [f"timeout {prompt.timeout_seconds} s"]
    if prompt.num_digits is not None:
        terms.append(f"{prompt.num_digits} digit(s)")
    if prompt.finish_on_key:
        terms.append(f"finish with {prompt.finish_on_key}")
    if not prompt.accepts_dtmf:
        terms.append("speech only: keys are ignored")
    return ", ".join(terms)


def describe(step: Step, base: str = "") -> str:
    """One line telling a person what happened in ``step``.

    Args:
        step: A transcript step.
        base: The public base URL, left out of the URLs shown.

    """
    match step:
        case Requested():
            return f"  {step.method} {_short(step.url, base)} → {step.status} ({step.purpose})"
        case Heard(url=str(url), text=str(text)):
            return f'caller hears: "{text}" ({_short(url, base)}, {step.seconds:.1f} s)'
        case Heard(url=str(url)):
            return f"caller hears: {_short(url, base)} ({step.seconds:.1f} s)"
        case Heard(digits=str(digits)):
            return f"caller hears tones: {digits}"
        case Heard():
            return f'caller hears: "{step.text}"'
        case Paused():
            return f"silence: {step.seconds} s"
        case Gathered():
            return _describe_gathered(step)
        case Dialed():
            if step.status == "completed":
                return f"dialing {step.target}: connected for {step.duration_seconds} s"
            return f"dialing {step.target}: {step.status}"
        case Enqueued():
            return f"waited {step.seconds} s in queue {step.queue!r}: {step.result}"
        case Noted():
            return f"<{step.verb}>: {step.note}"
        case Rejected():
            return f"call ended: rejected ({step.reason})"
        case HungUp():
            return f"call ended: {step.by} hung up ({step.reason})"


def _describe_gathered(step: Gathered) -> str:
    if step.digits is None:
        heard = f"at Gather: silent for {step.timeout_seconds} s"
    else:
        heard = f"at Gather: pressing {step.digits}{step.finished_on_key}"
    return heard if step.submitted else f"{heard} (nothing sent; the call goes on)"


def _short(url: str, base: str) -> str:
    if base and url.startswith(base):
        url = url[len(base) :] or "/"
    path = urlsplit(url).path
    name = PurePosixPath(path).name
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    if len(stem) <= SHORT_NAME:
        return url
    return url.replace(name, f"{stem[:4]}…{suffix}", 1)
