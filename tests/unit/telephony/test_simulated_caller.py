"""The simulated caller against a customer webhook server that checks every Twilio signature.

The in-test server plays a customer's TwiML application: it answers scripted TwiML per path,
serves a real μ-law prompt, validates ``X-Twilio-Signature`` on every request with twilio's
own ``RequestValidator`` against its *public* URL (which differs from the address the
simulator connects to), and records what it received.
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import io
import math
import re
import wave
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from speech.audio import mulaw_encode, mulaw_wav
from telephony.simulator import cli
from telephony.simulator.caller import place_call
from telephony.simulator.keypad import press_keys
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.transcript import (
    CallTranscript,
    Dialed,
    Enqueued,
    Gathered,
    GatherPrompt,
    Heard,
    HungUp,
    InputRequest,
    Noted,
    Paused,
    Rejected,
    Requested,
    SimulationError,
    Step,
)

PUBLIC = "https://ivr.example.com"
TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC" + "1" * 32
PROMPT_SECONDS = 1.5
STARTED = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)

Page = str | Callable[[dict[str, str]], str] | web.Response
ServerFactory = Callable[..., Awaitable[TestServer]]


@dataclass(frozen=True)
class Received:
    """One request the customer server accepted."""

    method: str
    path_qs: str
    form: dict[str, str]


@dataclass
class Customer:
    """A customer's TwiML application: pages by path, and what it received."""

    pages: dict[str, Page]
    received: list[Received] = field(default_factory=list)
    server_url: str = ""

    def forms(self, path: str) -> list[dict[str, str]]:
        return [r.form for r in self.received if r.path_qs.split("?")[0] == path]

    def form(self, path: str) -> dict[str, str]:
        (form,) = self.forms(path)
        return form


def _twiml(build: Callable[[VoiceResponse], object]) -> str:
    response = VoiceResponse()
    build(response)
    return str(response)


def _mulaw_prompt(seconds: float = PROMPT_SECONDS) -> bytes:
    tone = 8000 * np.sin(2 * np.pi * 440 * np.arange(int(8000 * seconds)) / 8000)
    return mulaw_wav(mulaw_encode(tone.astype(np.int16)))


def _pcm_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\x00\x00" * 1600)
    return buffer.getvalue()


def _audio(data: bytes) -> web.Response:
    return web.Response(body=data, content_type="audio/wav")


@pytest.fixture
async def customer(aiohttp_server: ServerFactory) -> Customer:
    app_customer = Customer(pages={"/prompts/0a1b2c3d4e5f6789.wav": _audio(_mulaw_prompt())})

    async def handle(request: web.Request) -> web.StreamResponse:
        posted = await request.post() if request.method == "POST" else {}
        form = {name: str(value) for name, value in posted.items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        url = PUBLIC + request.raw_path
        if not RequestValidator(TOKEN).validate(url, form, signature):
            raise web.HTTPForbidden(text=f"bad signature for {url}")
        app_customer.received.append(Received(request.method, request.raw_path, form))
        page = app_customer.pages.get(request.path)
        if page is None:
            raise web.HTTPNotFound()
        if isinstance(page, web.Response):  # a response can be sent once: send a copy
            return web.Response(body=page.body, status=page.status, headers=page.headers)
        body = page if isinstance(page, str) else page({**request.query, **form})
        return web.Response(text=body, content_type="text/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = await aiohttp_server(app)
    app_customer.server_url = str(server.make_url("")).rstrip("/")
    return app_customer


def _config(customer: Customer, **scenario: object) -> CallerConfig:
    settings: dict[str, object] = {
        "server_url": customer.server_url,
        "public_url": PUBLIC,
        "account_sid": ACCOUNT,
        "auth_token": TOKEN,
    }
    return CallerConfig(**(settings | scenario))  # type: ignore[arg-type]


async def _call(customer: Customer, **scenario: object) -> tuple[list[Step], CallTranscript]:
    live: list[Step] = []
    transcript = await place_call(
        _config(customer, **scenario), on_step=live.append, clock=lambda: STARTED
    )
    return live, transcript


def _menu(gather: Mapping[str, object], after: str = "/no-input") -> str:
    def build(response: VoiceResponse) -> None:
        response.gather(**gather).play("/prompts/0a1b2c3d4e5f6789.wav")
        response.redirect(after, method="POST")

    return _twiml(build)


def _bye(text: str = "Goodbye.") -> str:
    return _twiml(lambda r: (r.say(text), r.hangup()))


# --- following the TwiML ---------------------------------------------------------------------


async def test_follows_gather_redirect_and_hangup_with_every_request_signed(
    customer: Customer,
) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 1, "action": "/twilio/gather?turn=1&lang=ko"}),
        "/twilio/gather": _twiml(lambda r: r.redirect(f"{PUBLIC}/next?from=gather", method="GET")),
        "/next": _bye("Thank you."),
        "/twilio/status": web.Response(status=204),
    }

    live, transcript = await _call(customer, digits=["1"])

    assert [r.path_qs.split("?")[0] for r in customer.received] == [
        "/twilio/voice",
        "/prompts/0a1b2c3d4e5f6789.wav",
        "/twilio/gather",
        "/next",
        "/twilio/status",
    ]
    gather_form = customer.form("/twilio/gather")
    assert gather_form["Digits"] == "1"
    assert gather_form["FinishedOnKey"] == ""
    assert gather_form["msg"] == "Gather End"
    assert customer.received[2].path_qs == "/twilio/gather?turn=1&lang=ko"
    redirect = customer.received[3]
    assert (redirect.method, redirect.form) == ("GET", {})
    assert "CallStatus=in-progress" in redirect.path_qs
    assert redirect.path_qs.startswith("/next?from=gather&AccountSid=")
    heard = transcript.of_type(Heard)
    assert heard[0].url == f"{PUBLIC}/prompts/0a1b2c3d4e5f6789.wav"
    assert heard[0].audio is not None and heard[0].audio.is_telephone_mulaw
    assert heard[0].seconds == pytest.approx(PROMPT_SECONDS)
    assert heard[1].text == "Thank you."
    assert transcript.ending == HungUp("server", "Response/Hangup[1]: <Hangup>")
    assert live[-2] == transcript.ending
    assert list(transcript.steps) == live
    assert len(transcript.documents) == 3


async def test_incoming_call_carries_twilios_standard_parameters(customer: Customer) -> None:
    customer.pages |= {"/twilio/voice": _bye(), "/twilio/status": ""}

    await place_call(
        _config(customer, caller="+821055512345", called="+8215881234", call_sid="CA" + "a" * 32)
    )

    form = customer.form("/twilio/voice")
    assert {k: form[k] for k in ("AccountSid", "ApiVersion", "CallSid", "CallStatus")} == {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "CallSid": "CA" + "a" * 32,
        "CallStatus": "ringing",
    }
    assert (form["From"], form["Caller"], form["To"], form["Called"]) == (
        "+821055512345",
        "+821055512345",
        "+8215881234",
        "+8215881234",
    )
    assert form["Direction"] == "inbound"
    assert form["FromCountry"] == ""


async def test_status_callback_is_signed_and_reports_the_end(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: (r.pause(length=3), r.hangup())),
        "/twilio/status": "",
    }

    _, transcript = await _call(customer)

    status = customer.form("/twilio/status")
    assert status["CallStatus"] == "completed"
    assert status["CallDuration"] == "3"
    assert status["SequenceNumber"] == "0"
    assert status["CallbackSource"] == "call-progress-events"
    assert parsedate_to_datetime(status["Timestamp"]) == datetime(2025, 3, 14, 9, 30, 3, tzinfo=UTC)
    assert transcript.duration_seconds == 3


async def test_call_sid_is_shaped_like_twilios() -> None:
    config = CallerConfig(server_url="http://127.0.0.1:1", account_sid=ACCOUNT, auth_token=TOKEN)

    assert re.fullmatch(r"CA[0-9a-f]{32}", config.call_sid)
    assert config.base_public_url == "http://127.0.0.1:1"


# --- Gather ----------------------------------------------------------------------------------


async def test_silent_entry_sends_nothing_and_goes_on_after_the_gather(
    customer: Customer,
) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 1, "action": "/twilio/gather", "timeout": 7}),
        "/no-input": _bye(),
        "/twilio/status": "",
    }

    live, _ = await _call(customer, digits=["-"])

    assert customer.forms("/twilio/gather") == []
    (gathered,) = [s for s in live if isinstance(s, Gathered)]
    assert gathered == Gathered(None, "", 7, timed_out=True, submitted=False)
    assert len(customer.forms("/no-input")) == 1


async def test_num_digits_submits_at_once_and_later_keys_are_lost(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 2, "action": "/twilio/gather"}),
        "/twilio/gather": _bye(),
        "/twilio/status": "",
    }

    live, _ = await _call(customer, digits=["123"])

    assert customer.form("/twilio/gather")["Digits"] == "12"
    (gathered,) = [s for s in live if isinstance(s, Gathered)]
    assert not gathered.timed_out


async def test_finish_key_is_stripped_from_digits(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"action": "/twilio/gather", "finish_on_key": "#"}),
        "/twilio/gather": _bye(),
        "/twilio/status": "",
    }

    await _call(customer, digits=["12345678#9"])

    form = customer.form("/twilio/gather")
    assert (form["Digits"], form["FinishedOnKey"]) == ("12345678", "#")


async def test_gather_without_action_submits_to_its_own_document(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": lambda form: (
            _bye() if form.get("Digits") == "9" else _menu({"num_digits": 1})
        ),
        "/twilio/status": "",
    }

    await _call(customer, digits=["9"])

    assert [form["CallStatus"] for form in customer.forms("/twilio/voice")] == [
        "ringing",
        "in-progress",
    ]


async def test_action_on_empty_result_submits_silence(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"action": "/twilio/gather", "action_on_empty_result": True}),
        "/twilio/gather": _bye(),
        "/twilio/status": "",
    }

    await _call(customer, digits=[""])

    form = customer.form("/twilio/gather")
    assert (form["Digits"], form["FinishedOnKey"]) == ("", "")


async def test_script_running_out_at_a_gather_hangs_up(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 1, "action": "/twilio/gather"}),
        "/twilio/status": "",
    }

    live, transcript = await _call(customer, digits=[])

    assert customer.forms("/twilio/gather") == []
    assert live[-2] == HungUp("caller", "script ran out at Response/Gather[1]; caller hung up")
    assert customer.form("/twilio/status")["CallStatus"] == "completed"
    assert transcript.final_status == "completed"


async def test_input_provider_answers_gathers_instead_of_the_script(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 4, "action": "/twilio/gather", "timeout": 9}),
        "/twilio/gather": _bye(),
        "/twilio/status": "",
    }
    asked: list[GatherPrompt] = []

    async def caller_types(prompt: InputRequest) -> str:
        assert isinstance(prompt, GatherPrompt)
        asked.append(prompt)
        return "42#"

    await place_call(_config(customer, digits=["1111"]), input_provider=caller_types)

    (prompt,) = asked
    assert (prompt.path, prompt.num_digits, prompt.finish_on_key) == ("Response/Gather[1]", 4, "#")
    assert (prompt.timeout_seconds, prompt.action_url) == (9, f"{PUBLIC}/twilio/gather")
    assert [type(step) for step in prompt.prompts] == [Heard]
    assert customer.form("/twilio/gather")["Digits"] == "42"


def test_keys_feed_a_gather_one_at_a_time() -> None:
    assert press_keys("", num_digits=None, finish_on_key="#").timed_out
    assert press_keys("12", num_digits=None, finish_on_key="").digits == "12"
    assert press_keys("#", num_digits=None, finish_on_key="#").finished_on_key == "#"
    stopped = press_keys("1#23", num_digits=3, finish_on_key="#")
    assert (stopped.digits, stopped.ignored, stopped.timed_out) == ("1", "23", False)
    assert press_keys("*1", num_digits=None, finish_on_key="*").digits == ""


# --- Dial, Enqueue, Reject -------------------------------------------------------------------


async def test_dial_action_gets_the_scenarios_outcome(customer: Customer) -> None:
    def dial(response: VoiceResponse) -> None:
        response.dial(action="/twilio/dial?turn=2", timeout=20).number("+82212345678")

    customer.pages |= {
        "/twilio/voice": _twiml(dial),
        "/twilio/dial": _bye(),
        "/twilio/status": "",
    }

    live, _ = await _call(customer, dial_status="no-answer")

    form = customer.form("/twilio/dial")
    assert (form["DialCallStatus"], form["DialCallDuration"], form["DialBridged"]) == (
        "no-answer",
        "0",
        "false",
    )
    assert re.fullmatch(r"CA[0-9a-f]{32}", form["DialCallSid"])
    assert Dialed("Number +82212345678", "no-answer", 0) in live
    assert customer.form("/twilio/status")["CallDuration"] == "21"  # 20 s ringing + "Goodbye."


async def test_dial_without_action_goes_on_with_the_next_verb(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: (r.dial("+82212345678"), r.say("The agent left."))),
        "/twilio/status": "",
    }

    live, _ = await _call(customer, dial_duration=45)

    assert Dialed("+82212345678", "completed", 45) in live
    assert Heard(text="The agent left.", seconds=15 / 12.5) in live
    assert live[-2] == HungUp("server", "end of the TwiML document")


async def test_queue_wait_url_gather_then_leave_reports_queue_result(customer: Customer) -> None:
    def wait(response: VoiceResponse) -> None:
        response.say("You are first in line.")
        response.gather(num_digits=1, action="/queue-choice").say("Press 2 for a callback.")
        response.play("/prompts/0a1b2c3d4e5f6789.wav", loop=0)

    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: r.enqueue("support", wait_url="/wait", action="/left")),
        "/wait": _twiml(wait),
        "/queue-choice": _twiml(lambda r: (r.say("We will call you back."), r.leave())),
        "/left": _bye("Callback booked."),
        "/twilio/status": "",
    }

    live, _ = await _call(customer, digits=["2"])

    wait_form = customer.form("/wait")
    assert {k: wait_form[k] for k in ("QueuePosition", "QueueTime", "CurrentQueueSize")} == {
        "QueuePosition": "1",
        "QueueTime": "0",
        "CurrentQueueSize": "1",
    }
    assert re.fullmatch(r"QU[0-9a-f]{32}", wait_form["QueueSid"])
    left = customer.form("/left")
    assert (left["QueueResult"], left["QueueSid"]) == ("leave", wait_form["QueueSid"])
    (enqueued,) = [s for s in live if isinstance(s, Enqueued)]
    assert (enqueued.queue, enqueued.result) == ("support", "leave")
    assert [s.text for s in live if isinstance(s, Heard) and s.text][-1] == "Callback booked."


async def test_wait_url_is_requested_again_until_the_scenario_ends_the_wait(
    customer: Customer,
) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: r.enqueue("support", wait_url="/wait", action="/left")),
        "/wait": _twiml(lambda r: r.pause(length=10)),
        "/left": _bye("You are through."),
        "/twilio/status": "",
    }

    live, _ = await _call(customer, queue_result="bridged", queue_seconds=25, bridged_seconds=100)

    assert [form["QueueTime"] for form in customer.forms("/wait")] == ["0", "10", "20"]
    assert customer.form("/left")["QueueResult"] == "bridged"
    assert customer.form("/left")["QueueTime"] == "30"
    assert Enqueued("support", "bridged", 30) in live
    # 30 s waiting, 100 s with the agent, then "You are through." at 12.5 characters a second.
    assert customer.form("/twilio/status")["CallDuration"] == str(math.ceil(130 + 16 / 12.5))


async def test_caller_hanging_up_in_queue_ends_the_call_despite_the_action_answer(
    customer: Customer,
) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: r.enqueue("support", action="/left")),
        "/left": _bye("Nobody hears this."),
        "/twilio/status": "",
    }

    live, transcript = await _call(customer, queue_result="hangup", queue_seconds=90)

    left = customer.form("/left")
    assert (left["QueueResult"], left["QueueTime"]) == ("hangup", "90")
    assert not [s for s in live if isinstance(s, Heard)]
    assert live[-2] == HungUp("caller", "caller hung up after 90 s in the queue")
    assert transcript.duration_seconds == 90


async def test_reject_as_first_verb_leaves_the_call_unanswered(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: r.reject(reason="busy")),
        "/twilio/status": "",
    }

    live, transcript = await _call(customer)

    assert live[-2] == Rejected("busy")
    status = customer.form("/twilio/status")
    assert (status["CallStatus"], status["CallDuration"]) == ("busy", "0")
    assert transcript.final_status == "busy"


async def test_record_and_media_forks_are_noted_and_the_call_goes_on(customer: Customer) -> None:
    def build(response: VoiceResponse) -> None:
        response.start().stream(url="wss://ivr.example.com/fork")
        response.record(timeout=4, action="/recorded")
        response.say("No message.")

    customer.pages |= {"/twilio/voice": _twiml(build), "/twilio/status": ""}

    live, _ = await _call(customer)

    assert [s.verb for s in live if isinstance(s, Noted)] == ["Start", "Record"]
    assert customer.forms("/recorded") == []
    assert Heard(text="No message.", seconds=11 / 12.5) in live


async def test_pause_is_simulated_not_slept(customer: Customer) -> None:
    customer.pages |= {"/twilio/voice": _twiml(lambda r: r.pause(length=600)), "/twilio/status": ""}

    live, _ = await asyncio.wait_for(_call(customer), timeout=5)

    assert Paused(600) in live


# --- refusing what Twilio would refuse -------------------------------------------------------


async def _refused(customer: Customer, **scenario: object) -> SimulationError:
    with pytest.raises(SimulationError) as refused:
        await place_call(_config(customer, **scenario))
    return refused.value


async def test_unknown_verb_stops_the_call_naming_it(customer: Customer) -> None:
    customer.pages |= {"/twilio/voice": "<Response><Speak>hello</Speak></Response>"}

    error = await _refused(customer)

    assert "incoming call" in error.reason
    assert "Response/Speak[1]: unknown verb <Speak>" in error.reason
    assert [type(step) for step in error.steps] == [Requested]


async def test_wav_that_is_not_mulaw_stops_the_call(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: r.play("/pcm.wav")),
        "/pcm.wav": _audio(_pcm_wav()),
    }

    error = await _refused(customer)

    assert (
        "Response/Play[1]: https://ivr.example.com/pcm.wav is not 8 kHz mono μ-law" in error.reason
    )
    assert "format tag 1, 16000 Hz" in error.reason


async def test_pcm_wav_is_heard_when_mulaw_is_not_required(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: r.play("/pcm.wav")),
        "/pcm.wav": _audio(_pcm_wav()),
        "/twilio/status": "",
    }

    live, _ = await _call(customer, require_mulaw=False)

    (heard,) = [s for s in live if isinstance(s, Heard)]
    assert heard.audio is not None and heard.audio.sample_rate == 16000


async def test_garbage_instead_of_wav_stops_the_call(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: r.play("/broken.wav")),
        "/broken.wav": _audio(b"<html>not found</html>"),
    }

    error = await _refused(customer)

    assert "https://ivr.example.com/broken.wav is not a WAV file" in error.reason


async def test_http_500_stops_the_call(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 1, "action": "/twilio/gather"}),
        "/twilio/gather": web.Response(status=500, text="boom"),
    }

    error = await _refused(customer, digits=["1"])

    assert error.reason == (
        "gather action: POST https://ivr.example.com/twilio/gather answered HTTP 500"
    )
    assert isinstance(error.steps[-1], Requested) and error.steps[-1].status == 500


async def test_answer_that_is_not_xml_stops_the_call(customer: Customer) -> None:
    customer.pages |= {"/twilio/voice": web.json_response({"say": "hello"})}

    error = await _refused(customer)

    assert "answered Content-Type 'application/json', not XML" in error.reason


async def test_wrong_auth_token_is_refused_by_the_signature_check(customer: Customer) -> None:
    customer.pages |= {"/twilio/voice": _bye()}

    error = await _refused(customer, auth_token="not-the-token")

    assert error.reason.endswith("/twilio/voice answered HTTP 403")
    assert customer.received == []


async def test_url_outside_the_public_base_cannot_be_reached(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(lambda r: r.play("https://ivr.example.com.evil.test/x.wav"))
    }

    error = await _refused(customer)

    assert "is outside the public URL https://ivr.example.com" in error.reason


async def test_redirect_loop_is_stopped_by_the_step_guard(customer: Customer) -> None:
    customer.pages |= {"/twilio/voice": _twiml(lambda r: r.redirect("/twilio/voice"))}

    error = await _refused(customer, max_steps=20)

    assert "more than 20 steps" in error.reason


async def test_connect_to_a_video_room_is_not_simulated(customer: Customer) -> None:
    customer.pages |= {"/twilio/voice": _twiml(lambda r: r.connect().room("support"))}

    error = await _refused(customer)

    assert error.reason == "Response/Connect[1]: only <Connect><Stream> is simulated; found Room"


async def test_bidirectional_stream_of_the_outbound_track_is_refused(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _twiml(
            lambda r: r.connect().stream(url="wss://ivr.example.com/media", track="both_tracks")
        )
    }

    error = await _refused(customer)

    assert error.reason == (
        "Response/Connect[1]/Stream[1]/@track: a bidirectional stream carries only "
        "inbound_track, not both_tracks"
    )


async def test_speaking_at_a_keypad_gather_is_heard_as_silence(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 1, "action": "/twilio/gather"}, after="/end"),
        "/end": _bye(),
        "/twilio/status": "",
    }

    _, transcript = await _call(customer, digits=["say@300:상담원"])

    (note,) = transcript.of_type(Noted)
    assert note.note == (
        "caller answered by saying '상담원'; a keypad menu hears no keys in speech: silence"
    )
    (gathered,) = transcript.of_type(Gathered)
    assert (gathered.digits, gathered.timed_out, gathered.submitted) == (None, True, False)
    assert not customer.forms("/twilio/gather")


async def test_speech_gather_notes_that_recognition_is_not_simulated(customer: Customer) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"input": "speech dtmf", "action": "/twilio/gather"}, after="/end"),
        "/end": _bye(),
        "/twilio/status": "",
    }

    _, transcript = await _call(customer, digits=["say:잔액 조회"])

    (note,) = transcript.of_type(Noted)
    assert note.note.endswith("speech recognition in <Gather> is not simulated: heard as silence")


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("digits", ["1a"], "digits: '1a' is not keys"),
        ("digits", ["say:"], "digits: 'say:' is not keys 0-9 * #, '-' for silence, say:TEXT"),
        ("digits", ["say@x:hi"], "digits: 'say@x:hi' is not keys"),
        ("voice", " ", "voice: ' ' is not an espeak-ng voice name"),
        ("stream_patience_seconds", -1.0, "stream_patience_seconds: must not be negative"),
        ("dial_status", "ringing", "dial_status: 'ringing' is not one of"),
        ("queue_result", "redirected", "queue_result: 'redirected' is not one of"),
        ("public_url", "ivr.example.com", "public_url: 'ivr.example.com' is not an absolute"),
        ("queue_seconds", -1, "queue_seconds: must not be negative"),
    ],
)
def test_impossible_scenarios_are_refused(field_name: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        CallerConfig(
            server_url="http://127.0.0.1:8080",
            account_sid=ACCOUNT,
            auth_token=TOKEN,
            **{field_name: value},  # type: ignore[arg-type]
        )


# --- voicedesk call --------------------------------------------------------------------------


@pytest.fixture
def call_parser() -> argparse.ArgumentParser:
    """Built outside the event loop, as the entry point does (argparse reads locale files)."""
    parser = argparse.ArgumentParser(prog="voicedesk call")
    cli.add_call_arguments(parser)
    parser.set_defaults(account_sid=ACCOUNT, auth_token=TOKEN)
    return parser


def _args(parser: argparse.ArgumentParser, customer: Customer, *options: str) -> argparse.Namespace:
    return parser.parse_args(["--url", customer.server_url, "--public-url", PUBLIC, *options])


async def test_cli_prints_what_the_caller_hears_and_exits_zero(
    customer: Customer, call_parser: argparse.ArgumentParser
) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 1, "action": "/twilio/gather"}),
        "/twilio/gather": _bye(),
        "/twilio/status": "",
    }
    lines: list[str] = []

    code = await cli.run_from_args(_args(call_parser, customer, "--digits", "1"), out=lines.append)

    assert code == 0
    assert "caller hears: /prompts/0a1b….wav (1.5 s)" in lines
    assert "at Gather: pressing 1" in lines
    assert 'caller hears: "Goodbye."' in lines
    assert "call ended: server hung up (Response/Hangup[1]: <Hangup>)" in lines
    assert re.fullmatch(r"call CA[0-9a-f]{32}: completed, 3 s", lines[-1])


async def test_cli_reports_a_failed_simulation_with_exit_one(
    customer: Customer, call_parser: argparse.ArgumentParser
) -> None:
    customer.pages |= {"/twilio/voice": "<Response><Gather numdigits='1'/></Response>"}
    lines: list[str] = []

    code = await cli.run_from_args(_args(call_parser, customer, "--digits", ""), out=lines.append)

    assert code == 1
    assert "@numdigits: unknown attribute of <Gather>" in lines[-1]
    assert lines[-1].startswith("simulation failed: incoming call:")


def test_cli_digits_say_and_input_make_one_script_in_command_line_order(
    call_parser: argparse.ArgumentParser,
) -> None:
    args = call_parser.parse_args(
        ["--digits", "1,2", "--say", "상담원 연결", "--input", "say@800:네", "--digits=-"]
    )
    assert args.script == ["1", "2", "say:상담원 연결", "say@800:네", "-"]
    assert call_parser.parse_args([]).script is None  # no script: ask at each chance


async def test_cli_refuses_a_script_entry_it_cannot_read(
    customer: Customer, call_parser: argparse.ArgumentParser
) -> None:
    lines: list[str] = []

    code = await cli.run_from_args(
        _args(call_parser, customer, "--input", "sey:hi"), out=lines.append
    )

    assert code == 2
    assert lines == [
        "voicedesk call: digits: 'sey:hi' is not keys 0-9 * #, '-' for silence, say:TEXT, "
        "say@MS:TEXT or play:PATH"
    ]


async def test_cli_refuses_to_call_without_an_auth_token(
    customer: Customer, call_parser: argparse.ArgumentParser
) -> None:
    args = _args(call_parser, customer, "--digits", "1")
    args.auth_token = None
    lines: list[str] = []

    assert await cli.run_from_args(args, out=lines.append) == 2
    assert lines == [
        "voicedesk call: no auth token: pass --auth-token (the server's Twilio auth token)"
    ]


async def test_cli_asks_at_each_gather_without_digits(
    customer: Customer, call_parser: argparse.ArgumentParser, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer.pages |= {
        "/twilio/voice": _menu({"num_digits": 1, "action": "/twilio/gather"}),
        "/twilio/gather": _menu({"num_digits": 1, "action": "/twilio/gather"}, after="/end"),
        "/end": _bye(),
        "/twilio/status": "",
    }
    typed: Iterator[str] = iter(["x", "say:3", "3"])

    def terminal(_prompt: str) -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", terminal)
    lines: list[str] = []

    code = await cli.run_from_args(_args(call_parser, customer), out=lines.append)

    assert code == 0
    assert "'x': press only 0-9, * and #" in lines
    assert "'say:3': press only 0-9, * and #" in lines  # a keypad menu takes keys only
    assert customer.form("/twilio/gather")["Digits"] == "3"
    assert "call ended: caller hung up (caller hung up at Response/Gather[1])" in lines
