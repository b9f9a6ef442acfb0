"""What a caller chose at an input node (an option, or digits) and where it takes the call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from config.menu import CollectNode, InputNode, MenuNode
from ivr import actions as act
from ivr.matching import match_phrase, spoken_digits

# How a choice is kept in `CallState.confirming` while the caller is asked to confirm it.
OPTION_PREFIX: Final = "option:"
DIGITS_PREFIX: Final = "digits:"

# Like calls/recording.py's masking (one `*` per digit): the history shows only the length.
MASK: Final = "*"


@dataclass(frozen=True)
class Choice:
    """A choice made at an input node, and where it leads.

    Attributes:
        token: The choice as ``CallState.confirming`` holds it while it is being confirmed.
        spoken: How it is read back to the caller.
        recorded: How the history may show it: ``spoken``, or masked at a sensitive node.
        next: The node the call goes to once the choice is taken.
        collected: The value a collect node stores; None at a menu node.

    """

    token: str
    spoken: str
    recorded: str
    next: str
    collected: act.ValueCollected | None = None

    @property
    def sensitive(self) -> bool:
        """Whether the choice is a sensitive value (never stored or cached in clear)."""
        return self.collected is not None and self.collected.sensitive


def keyed_option(node: MenuNode, key: str, language: str) -> Choice | None:
    """The option of ``node`` whose keypad key is ``key``."""
    index = next((i for i, option in enumerate(node.options) if option.key == key), None)
    return None if index is None else option_choice(node, index, language)


def spoken_option(node: MenuNode, transcript: str, language: str) -> Choice | None:
    """The option of ``node`` one of whose phrases is the whole transcript."""
    option = match_phrase(node.options, language, transcript)
    return None if option is None else option_choice(node, node.options.index(option), language)


def option_choice(node: MenuNode, index: int, language: str) -> Choice:
    """Option ``index`` of ``node``, read back as its first phrase in ``language`` (or key)."""
    option = node.options[index]
    phrases = option.phrases.get(language, ())
    spoken = phrases[0] if phrases else (option.key or "")
    return Choice(f"{OPTION_PREFIX}{index}", spoken, spoken, option.next)


def digits_choice(node: CollectNode, digits: str) -> Choice | None:
    """``digits`` collected at ``node``, or None when they break its length or pattern."""
    if not _digits_valid(node, digits):
        return None
    collected = act.ValueCollected(node.id, node.variable, digits, node.sensitive)
    recorded = MASK * len(digits) if node.sensitive else " ".join(digits)
    return Choice(DIGITS_PREFIX + digits, " ".join(digits), recorded, node.next, collected)


def heard_choice(node: InputNode, transcript: str, language: str) -> Choice | None:
    """What a transcript chooses at ``node``: a whole option phrase, or valid spoken digits."""
    if isinstance(node, MenuNode):
        return spoken_option(node, transcript, language)
    digits = spoken_digits(transcript)
    return None if digits is None else digits_choice(node, digits)


def pending_choice(node: InputNode, token: str, language: str) -> Choice | None:
    """The choice stored as ``token`` at ``node``; None when the token does not fit the node."""
    if isinstance(node, MenuNode):
        index = token.removeprefix(OPTION_PREFIX)
        if not token.startswith(OPTION_PREFIX) or not index.isdecimal():
            return None
        return option_choice(node, int(index), language) if int(index) < len(node.options) else None
    if not token.startswith(DIGITS_PREFIX):
        return None
    return digits_choice(node, token.removeprefix(DIGITS_PREFIX))


def _digits_valid(node: CollectNode, digits: str) -> bool:
    # str.isdigit() alone also accepts other scripts' digits (e.g. Arabic-Indic, superscripts).
    ascii_digits = digits.isascii() and digits.isdigit()
    if not ascii_digits or not node.digits.min <= len(digits) <= node.digits.max:
        return False
    if node.pattern is None:
        return True
    return re.fullmatch(node.pattern, digits) is not None
