"""The fields of a node that waits for the caller's answer: input, timeout, retries, re-prompts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from config.menu import INPUT_SPEECH, CallbackNode, Prompt, SpeechThresholds, SurveyNode
from config.menu_fields import Section
from config.speech_parse import parse_node_speech
from config.spoken_answers import has_spoken_answers

# A silence longer than a minute is a caller who has gone; more than ten retries only keeps a
# confused caller away from a person.
TIMEOUT_SECONDS: Final = (1, 60)
RETRIES: Final = (0, 10)


@dataclass(frozen=True)
class Listening:
    """How a node listens, as the fields of the same names on the node."""

    input: tuple[str, ...]
    timeout: int
    retries: int
    no_input_prompt: Prompt | None
    no_match_prompt: Prompt | None
    speech: SpeechThresholds | None


def parse_listening(
    sec: Section, inherited: SpeechThresholds, node_type: type[CallbackNode | SurveyNode]
) -> Listening:
    """The listening fields of node ``sec``; absent ones take the defaults of ``node_type``."""
    inputs = sec.inputs("input", node_type.input)
    return Listening(
        input=inputs,
        timeout=sec.integer("timeout", *TIMEOUT_SECONDS, default=node_type.timeout),
        retries=sec.integer("retries", *RETRIES, default=node_type.retries),
        no_input_prompt=sec.prompt("no_input_prompt"),
        no_match_prompt=sec.prompt("no_match_prompt"),
        speech=parse_node_speech(sec, inputs, inherited),
    )


def check_spoken_answers(
    sec: Section,
    inputs: tuple[str, ...],
    phrases: Mapping[str, Mapping[int, tuple[str, ...]]],
    highest: int,
    what: str,
) -> None:
    """Report ``input`` when the node listens to speech in a language without built-in answers.

    Args:
        sec: The node.
        inputs: How the node listens.
        phrases: The built-in phrases per language, by answer number.
        highest: The node's highest answer number; 1 to it must be sayable.
        what: What the answers are, in words, e.g. ``"ratings"``.

    """
    if INPUT_SPEECH not in inputs or sec.languages is None:
        return
    missing = [lang for lang in sec.languages if not has_spoken_answers(phrases, lang, highest)]
    if missing:
        built_in = ", ".join(phrases) or "none"
        sec.report(
            "input",
            f"speech needs built-in spoken {what}, and there are none in "
            f"{', '.join(missing)} (built in: {built_in}); use input: [dtmf]",
        )
