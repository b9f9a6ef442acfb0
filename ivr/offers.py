"""Questions besides the menu's own: callback number checks, keep-or-cancel, slots and ratings.

Each is an input node the engine already knows how to wait at (a ``MenuNode`` or
``CollectNode``, with retries, no-input and fallback), so none needs rules of its own:

- *generated* nodes, whose ids hold ``~`` (never valid in a menu id): the callback offer's
  "shall we call you at {number}?" (``<queue>~callback``), the number entry
  (``<queue>~number``) and its read-back (``<queue>~number_ok``), and the keep-or-cancel
  question for a caller with an open callback (``~open_callback``);
- *adapted* nodes: a ``survey`` node as a menu of ratings, a ``callback`` node as a menu of the
  slots it offered (kept in ``CallState.offer``).

Their options lead to *targets*, also holding ``~``, which the engine carries out
(`ivr.queueing`): book the callback, rejoin the queue, keep or cancel, rate, book a slot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from config.menu import (
    CallbackNode,
    CollectNode,
    DigitsRange,
    InputNode,
    Menu,
    MenuNode,
    Option,
    QueueNode,
    SurveyNode,
)
from config.messages import KEY_PLACEHOLDER, NUMBER_PLACEHOLDER, SLOT_PLACEHOLDER, MessageKey
from config.spoken_answers import DECLINE_PHRASES, SLOT_CHOICE_PHRASES, SURVEY_RATING_PHRASES
from ivr import actions as act
from ivr.confirmation import READ_BACK_DIGITS
from ivr.slots import spoken_slot, stored_slot
from ivr.state import CallState

FLOW: Final = "~"
E164: Final = re.compile(r"\+[1-9][0-9]{7,14}")
"""A number a callback can go to (a withheld or SIP caller must key one in)."""
OPEN_CALLBACK: Final = "~open_callback"
CALLBACK_NUMBER: Final = "callback_number"
"""The variable the number entered for a callback is kept in."""

# Targets: what an option of a generated or adapted node leads to.
BOOK: Final = "~book:"  # + queue node id
REQUEUE: Final = "~requeue:"  # + queue node id
KEEP: Final = "~keep"
CANCEL: Final = "~cancel"
RATE: Final = "~rate:"  # + rating
UNRATED: Final = "~unrated"
SLOT: Final = "~slot:"  # + index into CallState.offer
DECLINE: Final = "~decline"

# Phone numbers a caller can key in: 9 digits (a Seoul landline without the trunk 0 is 9) to
# 15 (E.164's maximum).
CALLBACK_DIGITS: Final = DigitsRange(min=9, max=15)
# A caller answering "is this your number" twice without a valid key is better back in line.
GENERATED_RETRIES: Final = 1
# Keying a phone number takes longer than a menu choice.
NUMBER_TIMEOUT_SECONDS: Final = 10
YES_KEY: Final = "1"
NO_KEY: Final = "2"


def input_node(menu: Menu, state: CallState) -> InputNode | None:
    """The input node (the menu's, adapted or generated) the call waits at, or None."""
    node = menu.nodes.get(state.node)
    match node:
        case MenuNode() | CollectNode():
            return node
        case SurveyNode():
            return survey_menu(menu, node)
        case CallbackNode():
            return slot_menu(menu, node, state)
    return generated(menu, state.node) if FLOW in state.node else None


def generated(menu: Menu, node_id: str) -> InputNode | None:
    """A generated node by id, or None when ``node_id`` names none."""
    if node_id == OPEN_CALLBACK:
        return _yes_no(menu, node_id, MessageKey.CALLBACK_OPEN, KEEP, CANCEL, fallback=KEEP)
    queue_id, _, part = node_id.partition(FLOW)
    if not isinstance(menu.nodes.get(queue_id), QueueNode):
        return None
    match part:
        case "callback" | "number_ok":
            return _yes_no(
                menu,
                node_id,
                MessageKey.CALLBACK_NUMBER_CONFIRM,
                BOOK + queue_id,
                f"{queue_id}{FLOW}number",
                fallback=REQUEUE + queue_id,
            )
        case "number":
            return CollectNode(
                id=node_id,
                prompt=menu.messages[MessageKey.CALLBACK_NUMBER_ENTER],
                variable=CALLBACK_NUMBER,
                digits=CALLBACK_DIGITS,
                next=f"{queue_id}{FLOW}number_ok",
                finish_on_key="#",
                retries=GENERATED_RETRIES,
                fallback=REQUEUE + queue_id,
                timeout=NUMBER_TIMEOUT_SECONDS,
            )
    return None


def survey_menu(menu: Menu, node: SurveyNode) -> MenuNode:
    """A survey as a menu: key (or spoken) 1 to ``scale``; no answer goes on unrated."""
    options = tuple(
        Option(
            next=f"{RATE}{rating}",
            key=str(rating),
            phrases=_phrases(SURVEY_RATING_PHRASES, menu.languages, rating),
        )
        for rating in range(1, node.scale + 1)
    )
    return MenuNode(
        id=node.id,
        prompt=node.prompt,
        options=options,
        input=node.input,
        timeout=node.timeout,
        retries=node.retries,
        no_input_prompt=node.no_input_prompt,
        no_match_prompt=node.no_match_prompt,
        fallback=UNRATED,
        speech=node.speech,
    )


def slot_menu(menu: Menu, node: CallbackNode, state: CallState) -> MenuNode:
    """A callback node as a menu of the slots it offered, plus a key for none of them."""
    count = len(state.offer)
    options = [
        Option(
            next=f"{SLOT}{index}",
            key=str(index + 1),
            phrases=_phrases(SLOT_CHOICE_PHRASES, menu.languages, index + 1),
        )
        for index in range(count)
    ]
    declines = {lang: DECLINE_PHRASES[lang] for lang in menu.languages if lang in DECLINE_PHRASES}
    options.append(Option(next=DECLINE, key=decline_key(count), phrases=declines))
    return MenuNode(
        id=node.id,
        prompt=node.prompt,
        options=tuple(options),
        input=node.input,
        timeout=node.timeout,
        retries=node.retries,
        no_input_prompt=node.no_input_prompt,
        no_match_prompt=node.no_match_prompt,
        fallback=node.fallback or DECLINE,
        speech=node.speech,
    )


def decline_key(slots: int) -> str:
    """The key for "none of these": the one after the last slot's."""
    return str(slots + 1)


def question(menu: Menu, node: InputNode, state: CallState, at: datetime) -> tuple[act.Prompt, ...]:
    """What the caller hears at ``node``: its prompt, completed for generated and adapted ones."""
    language = state.language
    base = act.Prompt(node.prompt[language], language)
    own = menu.nodes.get(node.id)
    if isinstance(own, CallbackNode):
        return (base, *slot_options(menu, own, state, at))
    if node.id == OPEN_CALLBACK:
        slot = _slot_text(state.offer[1:], language, at) if len(state.offer) > 1 else ""
        return (_filled(node.prompt[language], SLOT_PLACEHOLDER, slot, language),)
    if isinstance(node, MenuNode) and FLOW in node.id:
        return read_back_number(node.prompt[language], callback_number(state), language)
    return (base,)


def slot_options(
    menu: Menu, node: CallbackNode, state: CallState, at: datetime
) -> tuple[act.Prompt, ...]:
    """One prompt per slot ``node`` offered ("…에 받으시려면 1번"), then the key for none."""
    language = state.language
    schedule = menu.schedules[node.schedule]
    option = menu.messages[MessageKey.CALLBACK_SLOT_OPTION][language]
    prompts = []
    for index, start in enumerate(state.offer):
        slot = spoken_slot(stored_slot(start, schedule), language, at)
        text = option.replace(SLOT_PLACEHOLDER, slot)
        prompts.append(act.Prompt(text.replace(KEY_PLACEHOLDER, str(index + 1)), language))
    decline = menu.messages[MessageKey.CALLBACK_SLOT_DECLINE][language]
    key = decline_key(len(state.offer))
    prompts.append(act.Prompt(decline.replace(KEY_PLACEHOLDER, key), language))
    return tuple(prompts)


def read_back_number(template: str, number: str, language: str) -> tuple[act.Prompt, ...]:
    """``template`` with ``{number}`` read one digit per prompt (no prompt holds the number)."""
    before, _, after = template.partition(NUMBER_PLACEHOLDER)
    words = READ_BACK_DIGITS.get(language, {})
    digits = tuple(act.Prompt(words.get(d, d), language) for d in number)
    parts = (before.strip(" ,"), after.strip(" ,"))
    head = (act.Prompt(parts[0], language),) if _sayable(parts[0]) else ()
    tail = (act.Prompt(parts[1], language),) if _sayable(parts[1]) else ()
    return (*head, *digits, *tail)


def callback_number(state: CallState) -> str:
    """The national digits of the number a callback would go to (entered, else the caller's)."""
    entered = state.variables.get(CALLBACK_NUMBER)
    if entered:
        return entered
    return national_digits(state.caller)


def national_digits(phone: str) -> str:
    """How a caller reads their own number: ``+821012345678`` → ``01012345678`` (Korea)."""
    for code, trunk in TRUNK_PREFIXES.items():
        if phone.startswith(code):
            return trunk + phone[len(code) :]
    return phone.lstrip("+")


def international(digits: str, caller: str) -> str:
    """E.164 for keyed ``digits``: a leading trunk 0 takes the caller's country code.

    So does a number keyed as long as the caller's own national number where there is no
    trunk prefix (``+1``): ``2125551234`` from a ``+1`` caller is ``+12125551234``.
    """
    for code, trunk in TRUNK_PREFIXES.items():
        if caller.startswith(code) and trunk and digits.startswith(trunk):
            return code + digits[len(trunk) :]
        if caller.startswith(code) and not trunk and len(digits) == len(caller) - len(code):
            # As `national_digits` reads the caller's own number back, without the country.
            return code + digits
    return "+" + digits if not digits.startswith("+") else digits


TRUNK_PREFIXES: Final = {"+82": "0", "+44": "0", "+81": "0", "+61": "0", "+49": "0", "+1": ""}
"""Country codes whose callers say their number with a trunk prefix (Korea first): a number
keyed as ``010…`` by a ``+82`` caller is ``+8210…``. Others are taken as keyed, in E.164."""


def _yes_no(
    menu: Menu, node_id: str, prompt: MessageKey, yes: str, no: str, *, fallback: str
) -> MenuNode:
    return MenuNode(
        id=node_id,
        prompt=menu.messages[prompt],
        options=(Option(next=yes, key=YES_KEY), Option(next=no, key=NO_KEY)),
        retries=GENERATED_RETRIES,
        fallback=fallback,
    )


def _phrases(
    table: Mapping[str, Mapping[int, tuple[str, ...]]], languages: tuple[str, ...], number: int
) -> dict[str, tuple[str, ...]]:
    by_language = {lang: table.get(lang, {}).get(number, ()) for lang in languages}
    return {lang: phrases for lang, phrases in by_language.items() if phrases}


def _slot_text(starts: tuple[str, ...], language: str, at: datetime) -> str:
    # An open callback may come without its due time (kept as ""): there is no time to say.
    if not starts or not starts[0]:
        return ""
    return spoken_slot(datetime.fromisoformat(starts[0]), language, at)


def _filled(template: str, placeholder: str, value: str, language: str) -> act.Prompt:
    return act.Prompt(template.replace(placeholder, value), language)


def _sayable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
