"""Turning the ``nodes`` of a menu document into node values, one function per node type."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from config.callback_parse import build_callback_node
from config.listening_parse import RETRIES, TIMEOUT_SECONDS
from config.menu import (
    ChatNode,
    CollectNode,
    DigitsRange,
    GotoNode,
    HangupNode,
    HoursNode,
    MenuNode,
    Node,
    SayNode,
    TransferNode,
)
from config.menu_fields import NAME, NAME_RULE, Section, is_int, shown
from config.node_context import NodeContext, declared_id
from config.option_parse import keypad_key, parse_options
from config.queue_parse import build_queue_node
from config.speech_parse import parse_node_speech
from config.survey_parse import build_survey_node

# No number a caller keys in (account, card, phone, date of birth) is longer than 64 digits.
DIGITS: Final = (1, 64)
# Twilio's own bounds for <Dial timeout>.
TRANSFER_TIMEOUT_SECONDS: Final = (5, 600)
E164: Final = re.compile(r"\+[1-9][0-9]{7,14}")
VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


Builder = Callable[[Section, str, NodeContext], Node | None]


@dataclass(frozen=True)
class NodeType:
    """The keys a node type takes and how to build it."""

    required: frozenset[str]
    optional: frozenset[str]
    build: Builder


def parse_nodes(nodes: Section, context: NodeContext) -> dict[str, Node]:
    """Build every node of the ``nodes`` section; problems go to the section's issues.

    Returns:
        The nodes that are entirely valid, by id in document order.

    """
    built: dict[str, Node] = {}
    if not nodes.data:
        nodes.report_self("must define at least one node")
    for node_id, raw in nodes.data.items():
        if not isinstance(node_id, str):  # YAML reads `1:` as a number
            nodes.issues.add(str(node_id), "id", "a node id must be text: quote it")
            continue
        node = _node(Section(raw, nodes.issues, node_id, "", nodes.languages), node_id, context)
        if node is not None:
            built[node_id] = node
    return built


def _node(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    """Build node ``node_id`` from ``sec``, or None if it breaks any rule."""
    before = len(sec.issues)
    if not NAME.fullmatch(node_id):
        sec.report("id", f"'{node_id}' is not a valid node id: {NAME_RULE}")
    if not isinstance(sec.data, Mapping):
        sec.report("type", "a node must be a mapping with a 'type' and its fields")
        return None
    kind = sec.data.get("type")
    node_type = NODE_TYPES.get(kind) if isinstance(kind, str) else None
    if node_type is None:
        known_types = ", ".join(NODE_TYPES)
        sec.report("type", f"must be one of {known_types}, not {shown(kind)}")
        return None
    sec.check_keys(node_type.required, node_type.optional | {"type"}, f"a '{kind}' node")
    node = node_type.build(sec, node_id, context)
    return node if len(sec.issues) == before else None


def _say(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    prompt, next_ = sec.prompt("prompt"), sec.text("next")
    if prompt is None or next_ is None:
        return None
    return SayNode(id=node_id, prompt=prompt, next=next_)


def _menu(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    prompt = sec.prompt("prompt")
    inputs = sec.inputs("input", MenuNode.input)
    options = parse_options(sec, inputs)
    timeout = sec.integer("timeout", *TIMEOUT_SECONDS, default=MenuNode.timeout)
    retries = sec.integer("retries", *RETRIES, default=MenuNode.retries)
    no_input, no_match = sec.prompt("no_input_prompt"), sec.prompt("no_match_prompt")
    fallback = sec.text("fallback")
    speech = parse_node_speech(sec, inputs, context.speech)
    if prompt is None or options is None:
        return None
    return MenuNode(
        id=node_id,
        prompt=prompt,
        options=options,
        input=inputs,
        timeout=timeout,
        retries=retries,
        no_input_prompt=no_input,
        no_match_prompt=no_match,
        fallback=fallback,
        speech=speech,
    )


def _collect(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    prompt, next_ = sec.prompt("prompt"), sec.text("next")
    variable, digits = _variable(sec), _digits(sec)
    finish_on_key, pattern = _finish_on_key(sec), _pattern(sec)
    sensitive = sec.flag("sensitive", default=CollectNode.sensitive)
    inputs = sec.inputs("input", CollectNode.input)
    timeout = sec.integer("timeout", *TIMEOUT_SECONDS, default=CollectNode.timeout)
    retries = sec.integer("retries", *RETRIES, default=CollectNode.retries)
    no_input, no_match = sec.prompt("no_input_prompt"), sec.prompt("no_match_prompt")
    fallback = sec.text("fallback")
    speech = parse_node_speech(sec, inputs, context.speech)
    if prompt is None or next_ is None or variable is None or digits is None:
        return None
    return CollectNode(
        id=node_id,
        prompt=prompt,
        variable=variable,
        digits=digits,
        next=next_,
        finish_on_key=finish_on_key,
        sensitive=sensitive,
        pattern=pattern,
        retries=retries,
        fallback=fallback,
        input=inputs,
        timeout=timeout,
        no_input_prompt=no_input,
        no_match_prompt=no_match,
        speech=speech,
    )


def _hours(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    schedule = declared_id(sec, "schedule", context.schedules)
    open_, closed = sec.text("open"), sec.text("closed")
    if schedule is None or open_ is None or closed is None:
        return None
    return HoursNode(id=node_id, schedule=schedule, open=open_, closed=closed)


def _transfer(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    number, next_ = _phone_number(sec), sec.text("next")
    timeout = sec.integer("timeout", *TRANSFER_TIMEOUT_SECONDS, default=TransferNode.timeout)
    prompt = sec.prompt("prompt")
    if number is None or next_ is None:
        return None
    return TransferNode(id=node_id, number=number, next=next_, timeout=timeout, prompt=prompt)


def _chat(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    queue = declared_id(sec, "queue", context.queues)
    prompt, next_ = sec.prompt("prompt"), sec.text("next")
    if queue is None:
        return None
    return ChatNode(id=node_id, queue=queue, prompt=prompt, next=next_)


def _hangup(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    return HangupNode(id=node_id, prompt=sec.prompt("prompt"))


def _goto(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    next_ = sec.text("next")
    return None if next_ is None else GotoNode(id=node_id, next=next_)


def _phone_number(sec: Section) -> str | None:
    value = sec.data.get("number")
    if is_int(value):
        sec.report("number", f'must be quoted text in E.164 form, e.g. "+{value}"')
        return None
    number = sec.text("number")
    if number is not None and not E164.fullmatch(number):
        sec.report("number", f"'{number}' is not E.164: '+', then 8 to 15 digits")
        return None
    return number


def _variable(sec: Section) -> str | None:
    value = sec.text("variable")
    if value is not None and not VARIABLE.fullmatch(value):
        sec.report(
            "variable", f"'{value}' is not a name: a letter or '_', then letters, digits, '_'"
        )
        return None
    return value


def _digits(sec: Section) -> DigitsRange | None:
    digits = sec.section("digits")
    if digits is None:
        return None
    digits.check_keys(("min", "max"), (), "digits")
    # 0 is outside DIGITS, so it marks a bound that is missing or invalid (already reported).
    low = digits.integer("min", *DIGITS, default=0)
    high = digits.integer("max", *DIGITS, default=0)
    if low and high and low > high:
        digits.report("min", f"min {low} is more than max {high}")
    return DigitsRange(min=low, max=high) if low and high else None


def _finish_on_key(sec: Section) -> str:
    if "finish_on_key" not in sec.data:
        return CollectNode.finish_on_key
    value = sec.data["finish_on_key"]
    if value == "":
        return ""
    key = keypad_key(value)
    if key is None:
        sec.report(
            "finish_on_key", f"must be one of 0-9, '*', '#' or '' (none), not {shown(value)}"
        )
        return CollectNode.finish_on_key
    return key


def _pattern(sec: Section) -> str | None:
    pattern = sec.text("pattern")
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except re.error as err:
        sec.report("pattern", f"is not a valid regular expression: {err}")
        return None
    return pattern


NODE_TYPES: Final[Mapping[str, NodeType]] = {
    "say": NodeType(frozenset({"prompt", "next"}), frozenset(), _say),
    "menu": NodeType(
        frozenset({"prompt", "options"}),
        frozenset(
            {"input", "timeout", "retries", "no_input_prompt", "no_match_prompt", "fallback"}
            | {"speech"}
        ),
        _menu,
    ),
    "collect": NodeType(
        frozenset({"prompt", "variable", "digits", "next"}),
        frozenset(
            {"finish_on_key", "sensitive", "pattern", "retries", "fallback", "input", "timeout"}
            | {"no_input_prompt", "no_match_prompt", "speech"}
        ),
        _collect,
    ),
    "hours": NodeType(frozenset({"schedule", "open", "closed"}), frozenset(), _hours),
    "transfer": NodeType(
        frozenset({"number", "next"}), frozenset({"timeout", "prompt"}), _transfer
    ),
    "queue": NodeType(
        frozenset({"queue"}),
        frozenset(
            {"prompt", "next", "announce_every", "offer_callback_after", "max_wait", "overflow"}
            | {"after_agent", "callback_sms", "offer_chat", "offer_chat_after"}
        ),
        build_queue_node,
    ),
    "callback": NodeType(
        frozenset({"queue", "schedule", "prompt", "next"}),
        frozenset(
            {"slots", "slot_minutes", "lead_minutes", "days_ahead", "input", "timeout", "retries"}
            | {"fallback", "no_input_prompt", "no_match_prompt", "speech", "after_agent", "sms"}
        ),
        build_callback_node,
    ),
    "survey": NodeType(
        frozenset({"prompt", "next"}),
        frozenset(
            {"scale", "input", "timeout", "retries", "no_input_prompt", "no_match_prompt"}
            | {"speech", "thanks"}
        ),
        build_survey_node,
    ),
    "chat": NodeType(frozenset({"queue"}), frozenset({"prompt", "next"}), _chat),
    "hangup": NodeType(frozenset(), frozenset({"prompt"}), _hangup),
    "goto": NodeType(frozenset({"next"}), frozenset(), _goto),
}
"""Every node type, its required and optional keys (MENU_FORMAT.md's table) and its builder."""
