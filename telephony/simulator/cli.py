"""``voicedesk call``: place a simulated call from the terminal and tell what the caller hears.

Nothing here reads the environment: the entry point passes configured values as argument
defaults (``parser.set_defaults(account_sid=…, auth_token=…, public_url=…)``).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Final, get_args

from telephony.simulator.caller import place_call
from telephony.simulator.narration import describe
from telephony.simulator.scenario import (
    DEFAULT_CALLED,
    DEFAULT_CALLER,
    DEFAULT_STREAM_PATIENCE,
    DEFAULT_VOICE,
    CallerConfig,
    DialStatus,
    QueueOutcome,
)
from telephony.simulator.script import ENTRY_SYNTAX, Keys, Silence, parse_entry
from telephony.simulator.transcript import (
    GatherPrompt,
    InputProvider,
    InputRequest,
    SimulationError,
)
from telephony.simulator.twiml_rules import TwimlRejected

Output = Callable[[str], None]

DEFAULT_SERVER_URL: Final = "http://127.0.0.1:8080"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


class _AddToScript(argparse.Action):
    """``--digits``, ``--say`` and ``--input`` all add to one script, in command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        script = list(getattr(namespace, self.dest) or [])
        value = str(values)
        match self.const:
            case "digits":
                script.extend(value.split(","))
            case "say":
                script.append(f"say:{value}")
            case _:
                script.append(value)
        setattr(namespace, self.dest, script)


def add_call_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``voicedesk call`` options to ``parser``.

    Destinations: ``url``, ``public_url``, ``caller``, ``called``, ``script`` (None when no
    ``--digits``/``--say``/``--input`` was given: ask at each chance), ``account_sid``,
    ``auth_token``, ``dial_status``, ``queue_result``, ``queue_seconds``, ``dial_duration``,
    ``any_audio``, ``voice``, ``stream_patience``.
    """
    add = parser.add_argument
    add("--url", default=DEFAULT_SERVER_URL, help="the voicedesk server to connect to")
    add("--public-url", help="base URL Twilio signs against (the server's public URL)")
    add("--from", dest="caller", default=DEFAULT_CALLER, help="the calling number")
    add("--to", dest="called", default=DEFAULT_CALLED, help="the number called")
    add(
        "--digits",
        const="digits",
        help="answers in order, comma-separated, e.g. 1,12345678#,- ('-' stays silent; write "
        "--digits=-,1 when the first is '-'); with no --digits/--say/--input: ask each time",
        dest="script",
        action=_AddToScript,
    )
    add(
        "--say",
        const="say",
        metavar="TEXT",
        help="the next answer is TEXT, spoken once the prompt has played (repeatable)",
        dest="script",
        action=_AddToScript,
    )
    add(
        "--input",
        const="input",
        metavar="ENTRY",
        help=f"the next answer, any form: {ENTRY_SYNTAX} (say@800:TEXT barges in 800 ms into "
        "the prompt; play@MS:PATH too) (repeatable)",
        dest="script",
        action=_AddToScript,
    )
    add("--account-sid", help="AccountSid sent with every webhook")
    add("--auth-token", help="auth token the webhooks are signed with")
    add("--dial-status", choices=get_args(DialStatus), default="completed")
    add("--dial-duration", type=int, default=30, help="seconds a completed Dial lasts")
    add("--queue-result", choices=get_args(QueueOutcome), default="hangup")
    add("--queue-seconds", type=int, default=60, help="seconds before the queue result")
    add("--any-audio", action="store_true", help="accept played audio that is not μ-law")
    add("--voice", default=DEFAULT_VOICE, help="espeak-ng voice the caller speaks with")
    add(
        "--stream-patience",
        type=float,
        default=DEFAULT_STREAM_PATIENCE,
        help="seconds without a prompt on a media stream before the caller hangs up",
    )


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
    provider = None if args.script is not None else _ask_each_time(out)
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
    return CallerConfig(
        server_url=args.url,
        public_url=args.public_url,
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        caller=args.caller,
        called=args.called,
        digits=tuple(args.script or ()),
        dial_status=args.dial_status,
        dial_duration=args.dial_duration,
        queue_result=args.queue_result,
        queue_seconds=args.queue_seconds,
        require_mulaw=not args.any_audio,
        voice=args.voice,
        stream_patience_seconds=args.stream_patience,
    )


def _ask_each_time(out: Output) -> InputProvider:
    # A stream can end while the person is still typing: the read goes on in its thread and
    # the next question takes its line, rather than a second read competing for the terminal.
    reading: asyncio.Future[str] | None = None

    async def read(prompt: str) -> str | None:
        nonlocal reading
        if reading is None:
            reading = asyncio.ensure_future(asyncio.to_thread(input, prompt))
        try:
            return (await asyncio.shield(reading)).strip()
        except EOFError:
            return None
        finally:
            if reading.done():
                reading = None

    async def ask(request: InputRequest) -> str | None:
        if isinstance(request, GatherPrompt):
            out(
                f"at Gather ({_gather_terms(request)}): keys to press, '-' for silence, "
                "Ctrl-D hangs up"
            )
        else:
            out(
                f"stream prompt {request.prompt} playing: keys, '-' for silence, text to say "
                "when it ends, say@MS:TEXT to barge in, play:PATH; Ctrl-D hangs up"
            )
        while (
            line := await read("keys> " if isinstance(request, GatherPrompt) else "you> ")
        ) is not None:
            entry = _typed_entry(line, spoken=not isinstance(request, GatherPrompt))
            if entry is not None:
                return entry
            out(
                f"{line!r}: press only 0-9, * and #"
                if isinstance(request, GatherPrompt)
                else f"{line!r}: not {ENTRY_SYNTAX}"
            )
        return None

    return ask


def _typed_entry(line: str, *, spoken: bool) -> str | None:
    """What a person typed, as a script entry; on a stream, plain text is said."""
    try:
        entry = parse_entry(line)
    except ValueError:
        return f"say:{line}" if spoken else None
    if not spoken and not isinstance(entry, Keys | Silence):
        return None
    return line


def _gather_terms(prompt: GatherPrompt) -> str:
    terms = [f"timeout {prompt.timeout_seconds} s"]
    if prompt.num_digits is not None:
        terms.append(f"{prompt.num_digits} digit(s)")
    if prompt.finish_on_key:
        terms.append(f"finish with {prompt.finish_on_key}")
    if not prompt.accepts_dtmf:
        terms.append("speech only: keys are ignored")
    return ", ".join(terms)
