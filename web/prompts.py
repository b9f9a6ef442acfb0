"""``GET /prompts/<key>.wav``: synthesized prompts, 8 kHz μ-law WAV, immutable by content hash."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from aiohttp import web

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


def routes() -> list[web.RouteDef]:
    """The prompt route."""
    return [web.get(r"/prompts/{key:[0-9a-f]{64}}.wav", prompt_audio)]
