"""``voicedesk serve``'s log as an operator reads it: one line per record, no chatter.

Issue 10, finding 4 (a ``%0A`` in a request path wrote a forged log line) and finding 9
(APScheduler wrote two INFO lines a second). A real process, a real socket, its real stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

VOICEDESK = [sys.executable, "-m", "web.cli", "serve"]
REPO = Path(__file__).resolve().parents[2]
FORGED_LINE = "2026-12-07 16:59:59,000 ERROR web.app: FORGED"
STARTUP_SECONDS = 60.0


@dataclass
class Served:
    url: str
    lines: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode("utf-8", "replace").rstrip("\n"))


@pytest.fixture
async def served(tmp_path: Path, prompt_cache: Path) -> AsyncIterator[Served]:
    """``voicedesk serve`` at INFO with the callback timer running; its stderr is collected."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEDESK_")}
    env |= {
        "PYTHONPATH": str(REPO),
        "VOICEDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'voicedesk.db'}",
        "VOICEDESK_TWILIO_AUTH_TOKEN": "log-test-token",
        "VOICEDESK_PORT": str(port),
        "VOICEDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "VOICEDESK_PROMPT_CACHE_DIR": str(prompt_cache),
        "VOICEDESK_SPEECH_ENABLED": "false",
        "VOICEDESK_CALLBACKS_ENABLED": "true",
        "VOICEDESK_LOG_LEVEL": "INFO",
    }
    process = await asyncio.create_subprocess_exec(
        *VOICEDESK,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    served = Served(f"http://127.0.0.1:{port}")
    reader = asyncio.create_task(_collect(process.stderr, served.lines))
    try:
        await _until_ready(served)
        yield served
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await process.wait()
        await asyncio.wait_for(reader, 10)


async def _until_ready(served: Served) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(STARTUP_SECONDS):
        while True:
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(served.url + "/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


LINE_BREAKS = ("%0A", "%0D%0A", "%0D", "%E2%80%A8")
"""LF, CRLF, CR and U+2028, percent-encoded in a path (aiohttp decodes ``request.path``)."""


async def test_a_line_break_in_a_request_path_cannot_forge_a_log_line(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        for line_break in LINE_BREAKS:
            path = "/twilio/x" + line_break + FORGED_LINE.replace(" ", "%20")
            url = URL(served.url + path, encoded=True)
            async with http.post(url, data={"CallSid": "CA1"}) as response:
                assert response.status == 403  # unsigned
    await asyncio.sleep(0.2)  # the log line is written after the answer
    text = "\n".join(served.lines)
    assert text.count("refused unsigned or forged webhook") == len(LINE_BREAKS)
    for line in text.replace("\r", "\n").replace("\u2028", "\n").split("\n"):
        assert not line.startswith(FORGED_LINE), line


async def test_the_callback_timer_s_ticks_are_not_logged(served: Served) -> None:
    await asyncio.sleep(3.5)  # three and more one-second ticks of the callback timer
    chatter = [line for line in served.lines if "apscheduler" in line and " INFO " in line]
    assert chatter == []


async def test_a_malformed_request_is_one_warning_line_not_a_traceback(served: Served) -> None:
    # aiohttp refuses a request line over 8 KB itself (400), before any signature check.
    url = served.url + "/twilio/voice?x=" + "x" * 9000
    async with aiohttp.ClientSession() as http, http.post(url) as response:
        assert response.status == 400
    await asyncio.sleep(0.2)
    refused = [line for line in served.lines if "refused a malformed request" in line]
    assert len(refused) == 1 and " WARNING " in refused[0], served.lines[-5:]
    assert not [line for line in served.lines if line.startswith("Traceback")]
