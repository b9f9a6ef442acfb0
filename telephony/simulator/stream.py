"""``<Connect><Stream>``: a bidirectional media stream, run the way Twilio runs it.

Twilio opens the websocket (the handshake signed like a webhook), sends ``connected`` and
``start``, then the caller's audio every 20 ms until the call or the stream ends. The server
plays prompts with ``media`` and ``mark`` and interrupts them with ``clear``. "Twilio executes
the remaining TwiML instructions only after your server closes the WebSocket connection": then
the ``<Connect action>`` URL is requested and its TwiML runs; without an action, the verb after
``</Connect>`` does. When the caller hangs up instead, Twilio sends ``stop`` and the call ends.

The caller answers each prompt with the next script entry (``telephony.simulator.script``):
keys become ``dtmf`` messages once the prompt has played; ``say:``/``play:`` send real audio
once it has played, or ``MS`` ms into it with ``say@MS:``/``play@MS:`` (barge-in); silence lets
the server's timeout run. When the script runs out, the caller hears the prompt out and hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Final
from urllib.parse import urljoin

from telephony.simulator.flow import CallFlow, End, GoTo, Transition
from telephony.simulator.scenario import new_sid
from telephony.simulator.script import Keys, PlayAudio, Say, ScriptEntry, Silence, parse_entry
from telephony.simulator.stream_audio import CallerAudioError, Utterance, recording, speak
from telephony.simulator.stream_session import Prompt, StreamSession
from telephony.simulator.transcript import (
    HungUp,
    Noted,
    SimulationError,
    StreamClosed,
    StreamOpened,
    StreamPrompt,
)
from telephony.simulator.twiml_rules import TwimlNode

CONNECT_TRACK: Final = "inbound_track"
"""The only ``track`` of a bidirectional ``<Connect><Stream>``."""


async def connect(call: CallFlow, verb: TwimlNode, base: str) -> Transition | None:
    """Run a ``<Connect>`` verb.

    Args:
        call: The running call.
        verb: The ``<Connect>`` element.
        base: The URL of its document (``action`` resolves against it).

    Returns:
        Where the call goes on: the action's TwiML, the next verb (None), or its end.

    Raises:
        SimulationError: Something Twilio would refuse, or the stream failed.

    """
    stream = _stream_of(verb)
    url = stream.attributes["url"]
    parameters = {p.attributes["name"]: p.get("value", "") or "" for p in stream.children}
    ws = await call.open_stream(url)
    session = StreamSession(
        ws,
        stream_sid=new_sid("MZ"),
        call_sid=call.config.call_sid,
        account_sid=call.config.account_sid,
        record=call.record,
    )
    call.record(StreamOpened(url, session.stream_sid, parameters))
    started = asyncio.get_running_loop().time()
    try:
        hang_up_reason = await _converse(call, session, stream, parameters)
    finally:
        await ws.close()
        call.elapsed += asyncio.get_running_loop().time() - started
    if hang_up_reason is not None:
        return End(HungUp("caller", hang_up_reason))
    action = verb.get("action")
    if action is None:
        return None
    form = call.forms.call("in-progress")
    url = urljoin(base, action)
    return GoTo(await call.fetch(verb.get("method") or "POST", url, form, "connect action"))


def _stream_of(verb: TwimlNode) -> TwimlNode:
    if not verb.children or verb.children[0].name != "Stream":
        found = verb.children[0].name if verb.children else "nothing"
        raise SimulationError(f"{verb.path}: only <Connect><Stream> is simulated; found {found}")
    stream = verb.children[0]
    track = stream.get("track", CONNECT_TRACK)
    if track != CONNECT_TRACK:
        raise SimulationError(
            f"{stream.path}/@track: a bidirectional stream carries only {CONNECT_TRACK}, "
            f"not {track}"
        )
    return stream


async def _converse(
    call: CallFlow, session: StreamSession, stream: TwimlNode, parameters: Mapping[str, str]
) -> str | None:
    """Run the stream until the server closes it (None) or the caller hangs up (the reason)."""
    await session.start(parameters)
    if "statusCallback" in stream.attributes:
        call.record(Noted("Stream", "stream status callbacks are not simulated"))
    line = asyncio.create_task(session.run_line(), name="stream line")
    receiver = asyncio.create_task(session.receive(), name="stream receiver")
    caller = asyncio.create_task(_answer_prompts(call, session, stream), name="stream caller")
    tasks = (line, receiver, caller)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a failure anywhere ends the simulation with its reason
        if receiver in done:
            session.finish()
            call.record(StreamClosed("server", session.now_ms(), "the server closed the websocket"))
            return None
        reason = caller.result()
        line.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await line
        await session.hang_up()
        session.finish()
        call.record(StreamClosed("caller", session.now_ms(), reason))
        return reason
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _answer_prompts(call: CallFlow, session: StreamSession, stream: TwimlNode) -> str:
    """Answer each prompt with the next script entry; returns why the caller hangs up."""
    url = stream.attributes["url"]
    patience = call.config.stream_patience_seconds
    answered = 0
    while True:
        prompt = await session.next_prompt(after=answered, patience=patience)
        if prompt is None:
            return f"heard nothing on the stream for {patience:g} s; caller hung up"
        answered = prompt.number
        text = await call.next_input(StreamPrompt(stream.path, url, prompt.number))
        if text is None:
            await prompt.finished.wait()
            return call.hang_up_reason(f"stream prompt {prompt.number} ({stream.path})")
        try:
            entry = parse_entry(text)
        except ValueError as err:
            raise SimulationError(f"{stream.path}: {err}") from err
        await _act(call, session, prompt, entry, stream)


async def _act(
    call: CallFlow, session: StreamSession, prompt: Prompt, entry: ScriptEntry, stream: TwimlNode
) -> None:
    match entry:
        case Silence():
            return
        case Keys(keys=keys):
            await prompt.finished.wait()
            await session.press(keys)
        case Say() | PlayAudio():
            # Synthesis starts while the prompt plays, so a barge-in can be on time.
            audio = asyncio.create_task(_voice(entry, call.config.voice, stream))
            try:
                if entry.barge_in_ms is None:
                    await prompt.finished.wait()
                else:
                    await session.sleep_until(prompt.started_at + entry.barge_in_ms / 1000)
                utterance = await audio
            finally:
                audio.cancel()
            text = entry.text if isinstance(entry, Say) else None
            path = entry.path if isinstance(entry, PlayAudio) else None
            await session.speak(utterance, text=text, path=path)


async def _voice(entry: Say | PlayAudio, voice: str, stream: TwimlNode) -> Utterance:
    try:
        if isinstance(entry, Say):
            return await speak(entry.text, voice)
        return await recording(entry.path)
    except CallerAudioError as err:
        raise SimulationError(f"{stream.path}: the caller's audio: {err}") from err
