"""TwiML rules: accept what voicedesk renders, refuse what Twilio would refuse, say where."""

from __future__ import annotations

import pytest
from twilio.twiml.voice_response import VoiceResponse

from telephony.simulator.twiml_rules import TwimlRejected, check_twiml

PUBLIC = "https://ivr.example.com"


def _keypad_menu() -> str:
    """What the server renders for a keypad node: Gather with the prompt, then no-input."""
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf",
        action=f"{PUBLIC}/twilio/gather?turn=1",
        method="POST",
        timeout=5,
        num_digits=1,
        finish_on_key="#",
        action_on_empty_result=False,
    )
    gather.play(f"{PUBLIC}/prompts/0a1b2c3d4e5f.wav")
    response.redirect(f"{PUBLIC}/twilio/no-input?turn=1", method="POST")
    return str(response)


def test_accepts_gather_with_play_inside_and_redirect() -> None:
    document = check_twiml(_keypad_menu())

    gather, redirect = document.verbs
    assert gather.name == "Gather"
    assert gather.path == "Response/Gather[1]"
    assert gather.get("numDigits") == "1"
    assert gather.get("actionOnEmptyResult") == "false"
    assert [(child.name, child.text) for child in gather.children] == [
        ("Play", f"{PUBLIC}/prompts/0a1b2c3d4e5f.wav")
    ]
    assert (redirect.name, redirect.text) == ("Redirect", f"{PUBLIC}/twilio/no-input?turn=1")
    assert document.xml == _keypad_menu()


def test_accepts_dial_with_action_and_timeout() -> None:
    response = VoiceResponse()
    response.play(f"{PUBLIC}/prompts/transfer.wav")
    dial = response.dial(action=f"{PUBLIC}/twilio/dial?turn=2", method="POST", timeout=20)
    dial.number("+82212345678")

    (_, dial_verb) = check_twiml(str(response)).verbs

    assert dial_verb.get("timeout") == "20"
    assert [(noun.name, noun.text) for noun in dial_verb.children] == [("Number", "+82212345678")]


def test_accepts_enqueue_with_action_and_hangup() -> None:
    response = VoiceResponse()
    response.enqueue("support", action=f"{PUBLIC}/twilio/queue?turn=3", method="POST")
    response.hangup()

    enqueue, hangup = check_twiml(str(response)).verbs

    assert (enqueue.name, enqueue.text, enqueue.get("action")) == (
        "Enqueue",
        "support",
        f"{PUBLIC}/twilio/queue?turn=3",
    )
    assert hangup.name == "Hangup"


def test_accepts_connect_stream_with_parameters_and_start_stop() -> None:
    response = VoiceResponse()
    start = response.start()
    start.stream(name="fork", url="wss://ivr.example.com/fork")
    connect = response.connect(action="/twilio/stream-ended")
    stream = connect.stream(url="wss://ivr.example.com/twilio/media")
    stream.parameter(name="turn", value="4")
    stop = response.stop()
    stop.stream(name="fork")

    verbs = check_twiml(str(response)).verbs

    assert [verb.name for verb in verbs] == ["Start", "Connect", "Stop"]
    parameter = verbs[1].children[0].children[0]
    assert parameter.path == "Response/Connect[1]/Stream[1]/Parameter[1]"
    assert parameter.attributes == {"name": "turn", "value": "4"}


def test_accepts_every_dial_noun_and_the_other_verbs() -> None:
    response = VoiceResponse()
    response.say("잠시만 기다려 주세요.", language="ko-KR", voice="Polly.Seoyeon", loop=1)
    response.pause(length=2)
    response.record(timeout=3, finish_on_key="#*", max_length=60, play_beep=True)
    for noun in ("client", "queue", "conference"):
        getattr(response.dial(), noun)("agent-1")
    response.dial().sip("sip:agent@pbx.example.com")
    response.enqueue(None, workflow_sid="WW" + "0" * 32).task('{"skill": "billing"}')
    response.leave()
    response.reject(reason="busy")

    names = [verb.name for verb in check_twiml(str(response)).verbs]

    assert names == ["Say", "Pause", "Record"] + ["Dial"] * 4 + ["Enqueue", "Leave", "Reject"]


def test_say_text_runs_on_through_ssml() -> None:
    xml = '<Response><Say>Press <emphasis level="strong">one</emphasis> now</Say></Response>'

    (say,) = check_twiml(xml).verbs

    assert say.text == "Press one now"
    assert say.children[0].path == "Response/Say[1]/emphasis[1]"


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ("<Response><Say>hi</Response>", "not well-formed XML"),
        ("", "not well-formed XML"),
        ("<Reply><Hangup/></Reply>", "root element is <Reply>, not <Response>"),
        ("<Response><Speak>hi</Speak></Response>", "Response/Speak[1]: unknown verb <Speak>"),
        ("<Response><Pay/></Response>", "Response/Pay[1]: <Pay> is TwiML voicedesk does not use"),
        (
            "<Response><Gather><Dial>+1</Dial></Gather></Response>",
            "Response/Gather[1]/Dial[1]: <Gather> may contain only Pause, Play, Say; found <Dial>",
        ),
        (
            "<Response><Gather><Gather/></Gather></Response>",
            "Response/Gather[1]/Gather[1]: <Gather> may contain only",
        ),
        (
            "<Response><Dial><Play>x.wav</Play></Dial></Response>",
            "Response/Dial[1]/Play[1]: <Dial> may contain only Client, Conference, Number, "
            "Queue, Sip; found <Play>",
        ),
        (
            "<Response><Connect><Play>x.wav</Play></Connect></Response>",
            "Response/Connect[1]/Play[1]: <Connect> may contain only Room, Stream",
        ),
        (
            '<Response><Connect><Stream url="wss://a.example/m"><Say>x</Say></Stream>'
            "</Connect></Response>",
            "Response/Connect[1]/Stream[1]/Say[1]: <Stream> may contain only Parameter",
        ),
        (
            "<Response><Say><Pause/></Say></Response>",
            "Response/Say[1]/Pause[1]: <Say> may contain only",
        ),
        ("<Response><Number>+1</Number></Response>", "Response/Number[1]: <Response> may contain"),
        ("<Response><Hangup>now</Hangup></Response>", "<Hangup> may not hold text; found 'now'"),
        ("<Response>hello<Hangup/></Response>", "Response: <Response> may not hold text"),
        ("<Response><Say/></Response>", "Response/Say[1]/text(): Say needs text to speak"),
        ("<Response><Play/></Response>", "Response/Play[1]: <Play> needs a URL to play"),
        (
            "<Response><Play>ftp://a.example/x.wav</Play></Response>",
            "Response/Play[1]/text(): 'ftp://a.example/x.wav' is not an absolute http/https URL",
        ),
        ("<Response><Play>not a url</Play></Response>", "'not a url' is not a URL"),
        ("<Response><Redirect/></Response>", "Response/Redirect[1]/text(): '' is not a URL"),
        ("<Response><Enqueue/></Response>", "Response/Enqueue[1]: <Enqueue> needs a queue name"),
        (f"<Response><Enqueue>{'q' * 65}</Enqueue></Response>", "longer than 64 characters"),
        ("<Response><Dial/></Response>", "<Dial> needs either a number as text or nouns"),
        (
            "<Response><Dial>+1<Number>+2</Number></Dial></Response>",
            "<Dial> needs either a number as text or nouns, not both",
        ),
        (
            "<Response><Dial><Sip>pbx.example.com</Sip></Dial></Response>",
            "Response/Dial[1]/Sip[1]/text(): 'pbx.example.com' is not a sip: URI",
        ),
        (
            '<Response><Connect><Stream url="https://a.example/m"/></Connect></Response>',
            "Response/Connect[1]/Stream[1]/@url: 'https://a.example/m' is not an absolute wss",
        ),
        ("<Response><Connect><Stream/></Connect></Response>", "<Stream> needs a url"),
        (
            "<Response><Connect><Stream url='wss://a.example/m'><Parameter value='1'/></Stream>"
            "</Connect></Response>",
            "Response/Connect[1]/Stream[1]/Parameter[1]/@name: required attribute",
        ),
    ],
)
def test_refuses_structure_twilio_would_refuse(xml: str, reason: str) -> None:
    with pytest.raises(TwimlRejected) as refused:
        check_twiml(xml)

    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("verb", "reason"),
    [
        ('<Gather numDigits="x"/>', "Response/Gather[1]/@numDigits: 'x' is not a positive integer"),
        ('<Gather numDigits="0"/>', "@numDigits: '0' is not a positive integer"),
        ('<Gather method="PUT"/>', "Response/Gather[1]/@method: 'PUT' is not one of GET, POST"),
        ('<Gather timeout="-1"/>', "@timeout: '-1' is not a non-negative integer"),
        ('<Gather timeout="auto"/>', "@timeout: 'auto' is not a non-negative integer"),
        ('<Gather speechTimeout="soon"/>', "@speechTimeout: 'soon' is not a non-negative integer"),
        ('<Gather finishOnKey="A"/>', "@finishOnKey: 'A' is not made of the keys 0-9, *, #"),
        ('<Gather finishOnKey="#*"/>', "@finishOnKey: '#*' is not a single key"),
        ('<Gather input="voice"/>', "@input: 'voice' is not one of dtmf, speech, dtmf speech"),
        ('<Gather actionOnEmptyResult="yes"/>', "@actionOnEmptyResult: 'yes' is not one of"),
        ('<Gather action="mailto:a@b.example"/>', "@action: 'mailto:a@b.example' is not"),
        ('<Gather numdigits="1"/>', "Response/Gather[1]/@numdigits: unknown attribute of <Gather>"),
        ('<Hangup reason="done"/>', "Response/Hangup[1]/@reason: unknown attribute of <Hangup>"),
        ('<Say loop="many">hi</Say>', "@loop: 'many' is not a non-negative integer"),
        ('<Play loop="-2">a.wav</Play>', "@loop: '-2' is not a non-negative integer"),
        ('<Pause length="0"/>', "Response/Pause[1]/@length: '0' is not a positive integer"),
        ('<Dial timeout="4">+1</Dial>', "@timeout: '4' is not an integer from 5 to 600"),
        ('<Dial timeout="601">+1</Dial>', "@timeout: '601' is not an integer from 5 to 600"),
        ('<Dial hangupOnStar="True">+1</Dial>', "@hangupOnStar: 'True' is not one of true, false"),
        ('<Redirect method="post">/next</Redirect>', "@method: 'post' is not one of GET, POST"),
        ('<Reject reason="spam"/>', "@reason: 'spam' is not one of rejected, busy"),
        ('<Enqueue waitUrl="wait me">q</Enqueue>', "@waitUrl: 'wait me' is not a URL"),
        ('<Record finishOnKey="1x"/>', "@finishOnKey: '1x' is not made of the keys"),
    ],
)
def test_refuses_attribute_values_naming_element_and_attribute(verb: str, reason: str) -> None:
    with pytest.raises(TwimlRejected) as refused:
        check_twiml(f"<Response>{verb}</Response>")

    assert reason in refused.value.reason


@pytest.mark.parametrize(
    "verb",
    [
        '<Gather finishOnKey=""/>',
        '<Gather finishOnKey="*" timeout="0" speechTimeout="auto" input="dtmf speech"/>',
        '<Gather action="/twilio/gather?turn=1&amp;x=2" method="GET"/>',
        '<Play loop="0">https://a.example/hold.wav</Play>',
        '<Play digits="1234#w5"/>',
        '<Dial timeout="5" timeLimit="600" record="record-from-answer">+1</Dial>',
        '<Redirect method="GET">../menu?x=1</Redirect>',
    ],
)
def test_accepts_boundary_values(verb: str) -> None:
    assert len(check_twiml(f"<Response>{verb}</Response>").verbs) == 1


def test_second_element_of_a_kind_is_numbered_in_the_path() -> None:
    xml = '<Response><Play>a.wav</Play><Say>x</Say><Play loop="x">b.wav</Play></Response>'

    with pytest.raises(TwimlRejected, match=r"^Response/Play\[2\]/@loop:"):
        check_twiml(xml)


def test_wait_url_document_may_hold_only_wait_verbs() -> None:
    wait = VoiceResponse()
    wait.say("You are caller number one.")
    wait.gather(num_digits=1, action="/twilio/queue-choice").say("Press 1 for a callback.")
    wait.play("/hold.wav", loop=0)
    wait.leave()
    assert len(check_twiml(str(wait), wait_url=True).verbs) == 4

    with pytest.raises(TwimlRejected, match=r"Response/Dial\[1\]: a waitUrl document may hold"):
        check_twiml("<Response><Dial>+1</Dial></Response>", wait_url=True)
