"""Queue TwiML: hold documents, Enqueue, the agent's conference, and the hold audio they play.

Every document is checked by the simulator's Twilio rules; hold documents as ``waitUrl``
documents, which Twilio runs with a restricted set of verbs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr import actions as act
from telephony.simulator import check_twiml
from telephony.simulator.twiml_rules import TwimlNode, TwimlRejected
from telephony.twiml import WebhookUrls, agent_leg, render
from telephony.wav import parse_wav_header
from web import prompts

PUBLIC = "https://ivr.example.com"
URLS = WebhookUrls(PUBLIC)

HoldClient = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[HoldClient]]


def url_of(prompt: act.Prompt) -> str:
    return f"{PUBLIC}/prompts/{prompt.text}.wav"


def hold_document(*actions: act.Action) -> tuple[TwimlNode, ...]:
    return check_twiml(render(actions, URLS, url_of), wait_url=True).verbs


def plays(node: TwimlNode) -> list[str]:
    return [child.text for child in node.children if child.name == "Play"]


def test_a_hold_document_offers_the_callback_with_the_announcements_inside_the_gather() -> None:
    gather, hold = hold_document(
        act.Prompt("position", "ko"),
        act.Prompt("offer", "ko"),
        act.Offer(turn=6, timeout_seconds=4),
        act.Hold(30),
    )

    assert gather.name == "Gather"
    assert (gather.get("input"), gather.get("numDigits"), gather.get("timeout")) == (
        "dtmf",
        "1",
        "4",
    )
    assert gather.get("action") == f"{PUBLIC}/twilio/gather?turn=6"
    assert gather.get("method") == "POST"
    # No key pressed: the document goes on to the hold audio, not to the gather's action.
    assert gather.get("actionOnEmptyResult") == "false"
    assert plays(gather) == [f"{PUBLIC}/prompts/position.wav", f"{PUBLIC}/prompts/offer.wav"]
    assert (hold.name, hold.text) == ("Play", f"{PUBLIC}/prompts/hold/30.wav")


def test_a_hold_document_without_an_offer_plays_the_announcement_then_hold_audio() -> None:
    verbs = hold_document(act.Prompt("position", "ko"), act.Hold(45))

    assert [(v.name, v.text) for v in verbs] == [
        ("Play", f"{PUBLIC}/prompts/position.wav"),
        ("Play", f"{PUBLIC}/prompts/hold/45.wav"),
    ]


def test_a_key_pressed_at_the_offer_leaves_the_queue() -> None:
    verbs = hold_document(act.Leave())

    assert [v.name for v in verbs] == ["Leave"]


def test_a_wrong_key_is_answered_inside_the_wait_and_the_wait_goes_on() -> None:
    verbs = hold_document(act.Prompt("no-match", "ko"))

    assert [(v.name, v.text) for v in verbs] == [("Play", f"{PUBLIC}/prompts/no-match.wav")]


def test_prompts_before_leave_are_played_first() -> None:
    verbs = hold_document(act.Prompt("goodbye", "ko"), act.Leave())

    assert [v.name for v in verbs] == ["Play", "Leave"]


def test_the_wait_url_rules_refuse_what_twilio_would_not_run_while_waiting() -> None:
    connect = render([act.ConnectAgent("vd-CA1", 3)], URLS, url_of)

    with pytest.raises(TwimlRejected, match="waitUrl"):
        check_twiml(connect, wait_url=True)


def test_enqueue_carries_the_wait_url_and_the_action() -> None:
    xml = render([act.Prompt("please-wait", "ko"), act.Enqueue("general", 5)], URLS, url_of)

    play, enqueue = check_twiml(xml).verbs

    assert play.text == f"{PUBLIC}/prompts/please-wait.wav"
    assert (enqueue.name, enqueue.text) == ("Enqueue", "general")
    assert enqueue.get("action") == f"{PUBLIC}/twilio/queue?turn=5"
    assert enqueue.get("method") == "POST"
    assert enqueue.get("waitUrl") == f"{PUBLIC}/twilio/queue/wait?turn=5"
    assert enqueue.get("waitUrlMethod") == "POST"


def test_connect_agent_dials_into_the_agents_conference_room() -> None:
    xml = render([act.Prompt("connecting", "ko"), act.ConnectAgent("vd-CA1", 8)], URLS, url_of)

    play, dial = check_twiml(xml).verbs

    assert play.name == "Play"
    assert dial.name == "Dial"
    assert (dial.get("action"), dial.get("method")) == (
        f"{PUBLIC}/twilio/agent-ended?turn=8",
        "POST",
    )
    [room] = dial.children
    assert (room.name, room.text) == ("Conference", "vd-CA1")
    assert room.get("beep") == "false"
    assert room.get("startConferenceOnEnter") == "true"
    assert room.get("endConferenceOnExit") == "true"


def test_an_agent_who_answered_hears_the_whisper_then_waits_in_the_room() -> None:
    whisper = f"{PUBLIC}/prompts/whisper.wav"
    hold = f"{PUBLIC}/prompts/hold/60.wav"

    play, dial = check_twiml(agent_leg([whisper], "vd-cb4-1", hold)).verbs

    assert play.text == whisper
    [room] = dial.children
    assert (room.name, room.text) == ("Conference", "vd-cb4-1")
    assert (room.get("waitUrl"), room.get("waitMethod")) == (hold, "GET")
    assert room.get("beep") == "false"
    assert room.get("startConferenceOnEnter") == room.get("endConferenceOnExit") == "true"


def test_an_agent_whose_contact_is_gone_hears_so_and_is_hung_up() -> None:
    gone = f"{PUBLIC}/prompts/gone.wav"

    verbs = check_twiml(agent_leg([gone], None, f"{PUBLIC}/prompts/hold/60.wav")).verbs

    assert [(v.name, v.text) for v in verbs] == [("Play", gone), ("Hangup", "")]


# --- hold audio ------------------------------------------------------------------------------


@pytest.fixture
async def hold_audio(aiohttp_client: ClientFactory) -> HoldClient:
    app = web.Application()
    app.add_routes(prompts.routes())
    return await aiohttp_client(app)


async def test_hold_audio_is_telephone_mulaw_of_the_asked_length(hold_audio: HoldClient) -> None:
    response = await hold_audio.get("/prompts/hold/30.wav")

    assert response.status == 200
    assert response.content_type == "audio/wav"
    assert "immutable" in response.headers["Cache-Control"]
    info = parse_wav_header(await response.read())
    assert info.is_telephone_mulaw
    assert (info.duration_seconds, info.data_bytes) == (30.0, 30 * 8000)


@pytest.mark.parametrize(
    ("seconds", "status"), [("1", 200), ("600", 200), ("0", 404), ("601", 404)]
)
async def test_hold_audio_is_one_second_to_ten_minutes(
    hold_audio: HoldClient, seconds: str, status: int
) -> None:
    response = await hold_audio.get(f"/prompts/hold/{seconds}.wav")

    assert response.status == status


@pytest.mark.parametrize("path", ["/prompts/hold/10000.wav", "/prompts/hold/-5.wav"])
async def test_hold_audio_of_a_length_that_is_no_number_is_not_found(
    hold_audio: HoldClient, path: str
) -> None:
    assert (await hold_audio.get(path)).status == 404
