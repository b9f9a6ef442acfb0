"""``queue`` nodes and ``queues``: announcements, the callback offer, overflow, after the agent."""

from __future__ import annotations

from typing import Any

import pytest
from waiting_menu import check_refused, waiting_menu

from config.loader import parse_menu
from config.menu import Queue, QueueNode


def agents(data: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = data["nodes"]["agents"]
    return node


def test_queue_node_keeps_every_wait_setting() -> None:
    node = parse_menu(waiting_menu()).node("agents")
    assert node == QueueNode(
        id="agents",
        queue="general",
        prompt={"ko": "상담원을 연결해 드리겠습니다.", "en": "Connecting you to an agent."},
        next="bye",
        announce_every=45,
        offer_callback_after=60,
        max_wait=900,
        overflow="book",
        after_agent="rate",
        callback_sms=False,
    )


def test_queue_node_without_wait_settings_announces_every_30_s_and_never_offers() -> None:
    data = waiting_menu()
    for key in ("announce_every", "offer_callback_after", "max_wait", "overflow", "callback_sms"):
        del agents(data)[key]
    node = parse_menu(data).node("agents")
    assert isinstance(node, QueueNode)
    assert node.announce_every == 30
    assert (node.offer_callback_after, node.max_wait, node.overflow) == (None, None, None)
    assert node.callback_sms is True


def test_callback_offered_from_the_first_announcement_is_accepted() -> None:
    data = waiting_menu()
    agents(data)["offer_callback_after"] = 0
    node = parse_menu(data).node("agents")
    assert isinstance(node, QueueNode) and node.offer_callback_after == 0


@pytest.mark.parametrize("seconds", [9, 601, "30", 30.5, True, None])
def test_announce_every_outside_10_to_600_seconds_is_refused(seconds: object) -> None:
    data = waiting_menu()
    agents(data)["announce_every"] = seconds
    check_refused(data, "agents", "announce_every", "from 10 to 600")


@pytest.mark.parametrize("seconds", [-1, 7201, "60", None])
def test_offer_callback_after_outside_0_to_7200_seconds_is_refused(seconds: object) -> None:
    data = waiting_menu()
    agents(data)["offer_callback_after"] = seconds
    check_refused(data, "agents", "offer_callback_after", "from 0 to 7200")


def test_callback_offer_after_the_caller_has_overflowed_is_refused() -> None:
    data = waiting_menu()
    agents(data)["offer_callback_after"] = 900
    check_refused(data, "agents", "offer_callback_after", "never reached", "max_wait 900")


@pytest.mark.parametrize("seconds", [29, 7201, "900", False])
def test_max_wait_outside_30_to_7200_seconds_is_refused(seconds: object) -> None:
    data = waiting_menu()
    agents(data)["max_wait"] = seconds
    check_refused(data, "agents", "max_wait", "from 30 to 7200")


def test_max_wait_without_overflow_is_refused() -> None:
    data = waiting_menu()
    del agents(data)["overflow"]
    check_refused(data, "agents", "overflow", "required with max_wait", "after 900 seconds")


def test_overflow_without_max_wait_is_refused() -> None:
    data = waiting_menu()
    del agents(data)["max_wait"]
    check_refused(data, "agents", "overflow", "needs max_wait")


def test_overflow_naming_an_unknown_node_is_refused() -> None:
    data = waiting_menu()
    agents(data)["overflow"] = "voicemail"
    check_refused(data, "agents", "overflow", "names unknown node 'voicemail'")


def test_after_agent_naming_an_unknown_node_is_refused() -> None:
    data = waiting_menu()
    agents(data)["after_agent"] = "survey"
    check_refused(data, "agents", "after_agent", "names unknown node 'survey'")


def test_callback_sms_that_is_not_a_boolean_is_refused() -> None:
    data = waiting_menu()
    agents(data)["callback_sms"] = "no"
    check_refused(data, "agents", "callback_sms", "true or false")


def test_callback_sms_without_a_callback_offer_is_refused() -> None:
    data = waiting_menu()
    del agents(data)["offer_callback_after"]
    check_refused(data, "agents", "callback_sms", "set offer_callback_after")


def test_wait_setting_on_another_node_type_is_refused() -> None:
    data = waiting_menu()
    data["nodes"]["main"]["max_wait"] = 60
    check_refused(data, "main", "max_wait", "not a field of a 'menu' node")


def test_node_reached_only_through_overflow_is_reachable() -> None:
    data = waiting_menu()
    data["nodes"]["busy"] = {
        "type": "say",
        "prompt": {"ko": "지금은 통화량이 많습니다.", "en": "We are very busy."},
        "next": "bye",
    }
    agents(data)["overflow"] = "busy"
    assert "busy" in parse_menu(data).nodes


def test_overflow_back_into_the_same_queue_is_refused_as_an_endless_wait() -> None:
    data = waiting_menu()
    data["nodes"]["busy"] = {
        "type": "say",
        "prompt": {"ko": "지금은 통화량이 많습니다.", "en": "We are very busy."},
        "next": "agents",
    }
    agents(data)["overflow"] = "busy"
    check_refused(data, "busy", "next", "without waiting for input", "agents → busy → agents")


def test_after_agent_back_into_the_queue_is_refused_as_an_endless_loop() -> None:
    data = waiting_menu()
    agents(data)["after_agent"] = "agents"
    check_refused(data, "agents", "after_agent", "agents → agents")


# --- queues -----------------------------------------------------------------------------------


def test_queue_keeps_its_max_size_and_service_level() -> None:
    queue = parse_menu(waiting_menu()).queues["general"]
    assert queue == Queue(id="general", service_level_seconds=30, max_size=50)


def test_queue_max_size_defaults_to_100_calls() -> None:
    data = waiting_menu()
    data["queues"]["general"] = None
    assert parse_menu(data).queues["general"].max_size == 100


@pytest.mark.parametrize("size", [0, 5001, "50", True])
def test_queue_max_size_outside_1_to_5000_is_refused(size: object) -> None:
    data = waiting_menu()
    data["queues"]["general"]["max_size"] = size
    check_refused(data, None, "queues.general.max_size", "from 1 to 5000")


def test_misspelt_queue_setting_is_refused_with_a_suggestion() -> None:
    data = waiting_menu()
    data["queues"]["general"]["max_sise"] = 10
    check_refused(data, None, "queues.general.max_sise", "did you mean 'max_size'?")
