"""Confirmation turns: a spoken answer heard without enough confidence is read back for a yes.

Between the question and the answer, ``CallState.confirming`` holds the pending choice's token
(``option:<index>`` at a menu node, ``digits:<digits>`` at a collect node). The caller answers
with a yes or no word, or key 1 or 2 (as the built-in ``confirm`` message says).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from config.menu import InputNode, Menu, SpeechThresholds
from config.messages import CHOICE_PLACEHOLDER, MessageKey
from ivr import actions as act
from ivr import events as ev
from ivr.choice import Choice
from ivr.listening import confirmation_listen
from ivr.matching import yes_or_no
from ivr.state import CallState

YES_KEY: Final = "1"

READ_BACK_DIGITS: Final[dict[str, dict[str, str]]] = {
    # 공 rather than 영 for zero: how Koreans read account and phone numbers aloud.
    "ko": dict(zip("0123456789", "공일이삼사오육칠팔구", strict=True)),
    "en": dict(
        zip(
            "0123456789",
            ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
            strict=True,
        )
    ),
}
"""Digit words for reading a number back; another language reads the numerals as written."""

Answer = ev.DigitsEntered | ev.SpeechRecognized | ev.NoInput


def thresholds(menu: Menu, node: InputNode) -> SpeechThresholds:
    """The speech thresholds at ``node``: its own, else the menu's."""
    return node.speech or menu.speech


def ask(
    menu: Menu, state: CallState, node: InputNode, choice: Choice
) -> tuple[CallState, tuple[act.Action, ...]]:
    """Read ``choice`` back and wait for a yes or a no (a new turn, but no retry attempt)."""
    state = replace(state, confirming=choice.token, turn=state.turn + 1)
    template = menu.messages[MessageKey.CONFIRM][state.language]
    # Not str.format: an admin's text may hold other braces, which must be spoken as written.
    return state, (
        act.ConfirmationAsked(node.id, choice.recorded),
        *_read_back(template, choice, state.language),
        confirmation_listen(node, state),
    )


def _read_back(template: str, choice: Choice, language: str) -> list[act.Prompt]:
    """The confirm question as prompts.

    Digits are read one word per prompt, so that no prompt (nor its cached audio, keyed by its
    text) ever holds a whole account number; the history masks them at a sensitive node.
    """
    if choice.collected is None:
        return [act.Prompt(template.replace(CHOICE_PLACEHOLDER, choice.spoken), language)]
    before, after = template_parts(template)
    words = READ_BACK_DIGITS.get(language, {})
    digits = [
        act.Prompt(words.get(digit, digit), language, sensitive=choice.sensitive)
        for digit in choice.collected.value
    ]
    return [*_spoken(before, language), *digits, *_spoken(after, language)]


def template_parts(template: str) -> tuple[str, str]:
    """The confirm question's text before and after ``{choice}``.

    Each part is trimmed of the punctuation that joined it to the choice; "" when nothing is
    left to say.
    """
    before, _, after = template.partition(CHOICE_PLACEHOLDER)
    return _sayable(before.rstrip(" ,")), _sayable(after.lstrip(" ,.?!"))


def _sayable(text: str) -> str:
    return text if any(ch.isalnum() for ch in text) else ""


def _spoken(text: str, language: str) -> list[act.Prompt]:
    return [act.Prompt(text, language)] if text else []


def is_yes(answer: Answer, language: str, limits: SpeechThresholds) -> bool:
    """Whether ``answer`` is a yes: key 1, or a yes word heard at least ``confirm``-sure."""
    match answer:
        case ev.DigitsEntered():
            return answer.digits == YES_KEY
        case ev.SpeechRecognized():
            sure = answer.confidence >= limits.confirm
            return sure and yes_or_no(answer.transcript, language) is True
        case ev.NoInput():
            return False


def answered(answer: Answer) -> str | None:
    """What the caller keyed or said in ``answer`` (None for silence), for the history."""
    match answer:
        case ev.DigitsEntered():
            return answer.digits
        case ev.SpeechRecognized():
            return answer.transcript
        case ev.NoInput():
            return None
