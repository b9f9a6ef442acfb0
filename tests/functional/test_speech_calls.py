"""Calls answered by voice: espeak-ng speech over the real Media Streams websocket, real Vosk.

The simulator plays Twilio: it opens ``/twilio/media`` as Twilio would, streams the caller's
line (silence, or espeak-ng speech, μ-law, paced at 20 ms) and plays the server's audio back in
real time, echoing marks and honouring ``clear``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestServer
from conftest import AppFactory, app_of
from test_call_webhooks import OPEN_HOURS, Clock
from test_simulated_calls import call as simulated_call

from config.loader import load_menu_file
from config.menu import MenuNode
from config.settings import SHIPPED_MENU
from speech.listening import SpeechEngine
from telephony.simulator import (
    CallTranscript,
    StreamOpened,
)
from web.keys import STORE

# Callers answer while the main menu plays (barge-in), as people who know what they want do;
# the 9 s main prompt is not waited out in every call.
ANSWER_AFTER_MS = 1500


async def call(server: TestServer, script: list[str], **scenario: Any) -> CallTranscript:
    """The simulated-calls helper, with short queue and transfer legs."""
    scenario = {"queue_seconds": 1, "dial_duration": 1, **scenario}
    return await simulated_call(server, script, **scenario)


async def events_of(server: TestServer, transcript: CallTranscript) -> list[tuple[str, dict]]:
    store = app_of(server)[STORE]
    record = await store.get_call(transcript.call_sid)
    assert record is not None
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    return [(e.type, e.payload) for e in detail.events]


def nodes(events: list[tuple[str, dict]]) -> list[str]:
    return [payload["node"] for kind, payload in events if kind == "node_entered"]


# One phrase per option of the shipped main menu, in the espeak-ng voice that
# vosk-model-small-ko recognizes it from (espeak-ng's Korean is synthetic: the accuracy suite,
# tests/accuracy, measures every phrase in every voice, and docs/BENCHMARKS.md has the table).
SPOKEN_OPTIONS = [
    ("도난 신고", "ko+f3", "lost_card"),
    ("잔고", "ko+f3", "account"),
    ("이용 한도", "ko", "card_services"),
    ("상담원 연결", "ko", "agents"),
    ("반복", "ko", "back_to_main"),
]


def test_the_spoken_options_cover_every_option_of_the_main_menu() -> None:
    menu = load_menu_file(SHIPPED_MENU)
    main = menu.nodes["main"]
    assert isinstance(main, MenuNode)
    by_phrase = {p: o.next for o in main.options for p in o.phrases["ko"]}
    assert {by_phrase[phrase] for phrase, _, _ in SPOKEN_OPTIONS} == {o.next for o in main.options}
    assert all(by_phrase[phrase] == target for phrase, _, target in SPOKEN_OPTIONS)


async def test_every_option_of_the_main_menu_is_reached_by_voice(
    start_app: AppFactory, speech_engine: SpeechEngine
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS), speech=speech_engine)
    # A half-sure answer is read back: the caller's "예" confirms it (and is harmless where
    # no question was asked: it is a no-match at the next node, or never heard at all).
    transcripts = await asyncio.gather(
        *(
            call(server, [f"say@{ANSWER_AFTER_MS}:{phrase}", "say:예"], voice=voice)
            for phrase, voice, _ in SPOKEN_OPTIONS
        )
    )

    missed = []
    for (phrase, _, target), transcript in zip(SPOKEN_OPTIONS, transcripts, strict=True):
        assert transcript.of_type(StreamOpened), f"{phrase}: no media stream was opened"
        events = await events_of(server, transcript)
        after_main = nodes(events)[nodes(events).index("main") + 1 :]
        if not after_main or after_main[0] != target:
            missed.append((phrase, after_main[:1]))
        recognized = [p for kind, p in events if kind == "speech_recognized"]
        assert recognized, f"{phrase}: nothing was recognized"
        assert 0.0 <= recognized[0]["confidence"] <= 1.0
        assert recognized[0]["decision_ms"] > 0 and recognized[0]["audio_ms"] > 0
    assert not missed, f"spoken options that did not reach their node: {missed}"
