"""The ``speech`` settings of a menu or of one node: the confidence thresholds of spoken answers."""

from __future__ import annotations

from typing import Final

from config.menu import INPUT_SPEECH, SpeechThresholds
from config.menu_fields import Section, is_int, shown

SPEECH_KEYS: Final = ("accept", "confirm")


def parse_speech(sec: Section | None, inherited: SpeechThresholds) -> SpeechThresholds | None:
    """The thresholds of a ``speech`` mapping, each missing one taken from ``inherited``.

    Args:
        sec: The ``speech`` mapping, or None when there is none.
        inherited: The menu's thresholds for a node, the built-in defaults for the menu.

    Returns:
        The thresholds, or None when the mapping is absent or breaks a rule (reported).

    """
    if sec is None:
        return None
    sec.check_keys((), SPEECH_KEYS, "speech")
    accept = _confidence(sec, "accept", inherited.accept)
    confirm = _confidence(sec, "confirm", inherited.confirm)
    if accept is None or confirm is None:
        return None
    if confirm > accept:
        inherited_note = "" if {"accept", "confirm"} <= set(sec.data) else " (one is inherited)"
        sec.report(
            "confirm" if "confirm" in sec.data else "accept",
            f"confirm {confirm:g} is above accept {accept:g}{inherited_note}: "
            "answers from confirm up to accept are read back, so confirm must not exceed accept",
        )
        return None
    return SpeechThresholds(accept=accept, confirm=confirm)


def parse_node_speech(
    sec: Section, inputs: tuple[str, ...], inherited: SpeechThresholds
) -> SpeechThresholds | None:
    """A node's own ``speech`` thresholds (None: the menu's); only a speech node may set them."""
    if "speech" in sec.data and INPUT_SPEECH not in inputs:
        sec.report("speech", "is only for nodes that listen to speech: add input: [dtmf, speech]")
        return None
    return parse_speech(sec.section("speech"), inherited)


def _confidence(sec: Section, name: str, default: float) -> float | None:
    if name not in sec.data:
        return default
    value = sec.data[name]
    number = is_int(value) or isinstance(value, float)
    if not number or not 0 <= value <= 1:  # NaN fails the range check too
        sec.report(name, f"must be a number from 0 to 1, not {shown(value)}")
        return None
    return float(value)
