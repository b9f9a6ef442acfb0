"""Engine actions → TwiML, checked by the simulator's Twilio rules."""

from __future__ import annotations

from ivr import actions as act
from telephony.simulator import check_twiml
from telephony.twiml import WebhookUrls, apology, hold, render

URLS = WebhookUrls("https://ivr.example.com")


def url_of(prompt: act.Prompt) -> str:
    return f"https://ivr.example.com/prompts/{len(prompt.text):064x}.wav"


def names(xml: str) -> list[str]:
    return [verb.name for verb in check_twiml(xml).verbs]


def test_listen_puts_prompts_inside_gather_and_redirects_on_timeout() -> None:
    xml = render(
        [
            act.NodeEntered("main", "menu"),
            act.Prompt("hello", "en"),
            act.Prompt("press 1", "en"),
            act.Listen("main", 4, 5, num_digits=1, finish_on_key=""),
        ],
        URLS,
        url_of,
    )
    document = check_twiml(xml)
    gather, redirect = document.verbs
    assert gather.name == "Gather" and redirect.name == "Redirect"
    assert gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    assert gather.get("finishOnKey") == "" and gather.get("timeout") == "5"
    assert gather.get("action") == "https://ivr.example.com/twilio/gather?turn=4"
    assert [c.name for c in gather.children] == ["Play", "Play"]
    assert redirect.text == "https://ivr.example.com/twilio/no-input?turn=4"


def test_collect_gather_takes_max_digits_and_finish_key() -> None:
    xml = render([act.Listen("account", 2, 7, num_digits=8, finish_on_key="#")], URLS, url_of)
    gather = check_twiml(xml).verbs[0]
    assert gather.get("numDigits") == "8" and gather.get("finishOnKey") == "#"


def test_transfer_plays_then_dials_with_action() -> None:
    xml = render([act.Prompt("connecting", "en"), act.Transfer("+8225550100", 30, 3)], URLS, url_of)
    assert names(xml) == ["Play", "Dial"]
    dial = check_twiml(xml).verbs[1]
    assert dial.get("action") == "https://ivr.example.com/twilio/dial?turn=3"
    assert dial.children[0].name == "Number" and dial.children[0].text == "+8225550100"


def test_enqueue_names_queue_and_action() -> None:
    xml = render([act.Enqueue("general", 5)], URLS, url_of)
    enqueue = check_twiml(xml).verbs[0]
    assert enqueue.text == "general"
    assert enqueue.get("action") == "https://ivr.example.com/twilio/queue?turn=5"


def test_hangup_after_goodbye_and_record_actions_are_skipped() -> None:
    xml = render(
        [
            act.Prompt("bye", "en"),
            act.Outcome("completed"),
            act.Hangup(),
            act.FellBack("a", None, "x"),
        ],
        URLS,
        url_of,
    )
    assert names(xml) == ["Play", "Hangup"]


def test_apology_never_enqueues_where_no_agent_can_reach_the_caller() -> None:
    assert names(apology(["https://ivr.example.com/prompts/a.wav"])) == ["Play", "Hangup"]
    assert names(apology([])) == ["Hangup"]


def test_outage_hold_plays_the_apology_then_hold_audio() -> None:
    assert names(hold(["https://ivr.example.com/prompts/a.wav"], URLS.hold_audio(20))) == [
        "Play",
        "Play",
    ]


def test_turnless_urls_leave_the_turn_out() -> None:
    untracked = WebhookUrls("https://ivr.example.com", turns=False)
    assert untracked.queue_wait(7) == "https://ivr.example.com/twilio/queue/wait"
    assert URLS.queue_wait(7) == "https://ivr.example.com/twilio/queue/wait?turn=7"
