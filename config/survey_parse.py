"""The ``survey`` node: a rating from 1 to 5 after the call, by keypad or by voice."""

from __future__ import annotations

from typing import Final

from config.listening_parse import check_spoken_answers, parse_listening
from config.menu import SURVEY_SCALE, Node, SurveyNode
from config.menu_fields import Section, is_int, shown
from config.node_context import NodeContext
from config.spoken_answers import SURVEY_RATING_PHRASES

SURVEY_SCALES: Final = (SURVEY_SCALE,)
"""The supported tops of the rating scale; ``scale`` is a key already so that a wider scale
(1 to 10) can come later without breaking menus."""


def build_survey_node(sec: Section, node_id: str, context: NodeContext) -> Node | None:
    """The ``survey`` node in ``sec``, or None when a required field is missing or invalid."""
    prompt, next_ = sec.prompt("prompt"), sec.text("next")
    scale = _scale(sec)
    listening = parse_listening(sec, context.speech, SurveyNode)
    check_spoken_answers(sec, listening.input, SURVEY_RATING_PHRASES, scale, "ratings")
    thanks = sec.prompt("thanks")
    if prompt is None or next_ is None:
        return None
    return SurveyNode(
        id=node_id,
        prompt=prompt,
        next=next_,
        scale=scale,
        input=listening.input,
        timeout=listening.timeout,
        retries=listening.retries,
        no_input_prompt=listening.no_input_prompt,
        no_match_prompt=listening.no_match_prompt,
        speech=listening.speech,
        thanks=thanks,
    )


def _scale(sec: Section) -> int:
    if "scale" not in sec.data:
        return SurveyNode.scale
    value = sec.data["scale"]
    if is_int(value) and value in SURVEY_SCALES:
        return int(value)
    supported = ", ".join(str(top) for top in SURVEY_SCALES)
    sec.report(
        "scale",
        f"must be {supported} (ratings 1 to {SURVEY_SCALE}), not {shown(value)}: only that scale "
        "is supported today; the key exists so that a wider one can come without breaking menus",
    )
    return SurveyNode.scale
