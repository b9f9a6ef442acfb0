"""``GET /prompts/…``: synthesized prompts (immutable by content hash) and hold audio, μ-law."""

from __future__ import annotations

import asyncio
from typing import Final
from urllib.parse import quote

from aiohttp import web

from speech import hold
from telephony.fields import whole_number
from telephony.twiml import PROMPT_TEXT_HEADER
from web.keys import SYNTHESIZER

# A prompt's key is the hash of its text and voice: its content never changes.
CACHE_CONTROL: Final = "public, max-age=31536000, immutable"


async def prompt_audio(request: web.Request) -> web.Response:
    """Serve one cached prompt; 404 for anything else."""
    key = request.match_info["key"]
    etag = f'"{key}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
    synthesizer = request.app[SYNTHESIZER]
    audio = await synthesizer.read(key)
    if audio is None:
        raise web.HTTPNotFound(text="no such prompt")
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    spoken = synthesizer.text_of(key)
    if spoken is not None:
        # What the prompt says, for the simulator and admins' tools (Twilio ignores it).
        # Header values are Latin-1, so the UTF-8 text travels percent-encoded.
        text, language = spoken
        headers[PROMPT_TEXT_HEADER] = quote(text, safe=" ,.?!")
        headers["Content-Language"] = language
    return web.Response(body=audio, content_type="audio/wav", headers=headers)


async def hold_audio(request: web.Request) -> web.Response:
    """Serve generated hold audio of the asked length (1 to 600 s); 404 outside that."""
    seconds = whole_number(request.match_info["seconds"], hold.MAX_SECONDS)
    if not seconds:
        raise web.HTTPNotFound(text="no such hold audio")
    # Generating takes a few milliseconds of numpy the first time; cached after that.
    audio = await asyncio.to_thread(hold.hold_wav, seconds)
    return web.Response(
        body=audio,
        content_type="audio/wav",
        headers={"Cache-Control": CACHE_CONTROL, PROMPT_TEXT_HEADER: quote("(hold audio)")},
    )


def routes() -> list[web.RouteDef]:
    """The prompt routes."""
    return [
        web.get(r"/prompts/{key:[0-9a-f]{64}}.wav", prompt_audio),
        web.get(r"/prompts/hold/{seconds:[0-9]{1,4}}.wav", hold_audio),
    ]
