"""The baseline for bench/webhooks.py: a bare aiohttp server answering the same webhooks.

It answers the routes a keypad call uses with fixed TwiML built once at start-up: no signature
check, no database, no engine. It still reads every form, as any webhook server must, so the
difference to voicedesk is what voicedesk does with a webhook, not the HTTP work around it.

    .venv/bin/python bench/hello_server.py --port 18081

The call script of bench/webhooks.py runs unchanged against it: ``/twilio/voice`` answers a
``<Gather>`` whose action is ``/twilio/gather?turn=1``; that turn answers a second ``<Gather>``
(turn 2), and turn 2 answers the goodbye ``<Hangup/>``; ``/twilio/status`` answers 204.
"""

from __future__ import annotations

import argparse
from typing import Final

from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

TWIML: Final = "text/xml"
# Stand-ins for prompt audio URLs, so the bodies are about as long as voicedesk's.
PROMPT: Final = "/prompts/" + "0" * 64 + ".wav"
LAST_TURN: Final = 2

DOCUMENTS: Final = web.AppKey("documents", dict[str, bytes])


def fixed_documents(public_url: str) -> dict[str, bytes]:
    """The three TwiML answers of a keypad call, keyed by the ``turn`` that receives them."""
    documents: dict[str, bytes] = {}
    for turn in range(LAST_TURN):
        response = VoiceResponse()
        response.play(public_url + PROMPT)
        gather = response.gather(
            input="dtmf",
            action=f"{public_url}/twilio/gather?turn={turn + 1}",
            method="POST",
            timeout=5,
            num_digits=1 if turn == 0 else 8,
            finish_on_key="#",
        )
        gather.play(public_url + PROMPT)
        response.redirect(f"{public_url}/twilio/no-input?turn={turn + 1}", method="POST")
        documents[str(turn)] = str(response).encode()
    goodbye = VoiceResponse()
    goodbye.play(public_url + PROMPT)
    goodbye.hangup()
    documents[str(LAST_TURN)] = str(goodbye).encode()
    return documents


async def voice(request: web.Request) -> web.Response:
    """Incoming call: the first Gather."""
    await request.post()
    return web.Response(body=request.app[DOCUMENTS]["0"], content_type=TWIML, charset="utf-8")


async def gather(request: web.Request) -> web.Response:
    """Digits pressed: the next Gather, or the goodbye after the last one."""
    await request.post()
    body = request.app[DOCUMENTS].get(request.query.get("turn", ""), request.app[DOCUMENTS]["0"])
    return web.Response(body=body, content_type=TWIML, charset="utf-8")


async def status(request: web.Request) -> web.Response:
    """Status callback: nothing to answer."""
    await request.post()
    return web.Response(status=204)


async def readyz(request: web.Request) -> web.Response:
    """Ready as soon as it listens."""
    return web.json_response({"status": "ready"})


def create_app(public_url: str) -> web.Application:
    """The hello application, its TwiML pointing back at ``public_url``."""
    app = web.Application()
    app[DOCUMENTS] = fixed_documents(public_url.rstrip("/"))
    app.add_routes(
        [
            web.post("/twilio/voice", voice),
            web.post("/twilio/gather", gather),
            web.post("/twilio/status", status),
            web.get("/readyz", readyz),
        ]
    )
    return app


def main() -> None:
    """Serve the hello application until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    public_url = f"http://{args.host}:{args.port}"
    web.run_app(create_app(public_url), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
