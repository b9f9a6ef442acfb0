"""The waits of input nodes: the ``Listen`` for a node's question or for a confirmation."""

from __future__ import annotations

from config.menu import INPUT_SPEECH, CollectNode, InputNode, Menu, MenuNode
from ivr import actions as act
from ivr.matching import YES_NO_WORDS
from ivr.state import PHASE_LISTENING, CallState


def listening_node(menu: Menu, state: CallState) -> InputNode | None:
    """The input node the call is waiting at, or None when it waits for no input."""
    if state.phase != PHASE_LISTENING:
        return None
    node = menu.nodes.get(state.node)
    return node if isinstance(node, MenuNode | CollectNode) else None


def question_listen(node: InputNode, state: CallState, *, speech: bool = True) -> act.Listen:
    """The wait for an answer to ``node``'s own prompt, at the state's turn.

    Args:
        node: The menu or collect node.
        state: The call, already at the turn of this wait.
        speech: False to take the keypad only, even at a node that listens to speech.

    """
    spoken = speech and INPUT_SPEECH in node.input
    if isinstance(node, MenuNode):
        return act.Listen(
            node.id,
            state.turn,
            node.timeout,
            num_digits=1,
            finish_on_key="",
            speech=spoken,
            grammar=act.GRAMMAR_OPTIONS,
            phrases=option_phrases(node, state.language),
            language=state.language,
        )
    return act.Listen(
        node.id,
        state.turn,
        node.timeout,
        num_digits=node.digits.max,
        finish_on_key=node.finish_on_key,
        speech=spoken,
        grammar=act.GRAMMAR_DIGITS,
        language=state.language,
    )


def confirmation_listen(node: InputNode, state: CallState) -> act.Listen:
    """The wait for a yes (1) or a no (2) at ``node``, at the state's turn."""
    words = YES_NO_WORDS.get(state.language)
    return act.Listen(
        node.id,
        state.turn,
        node.timeout,
        num_digits=1,
        finish_on_key="",
        speech=True,
        grammar=act.GRAMMAR_YES_NO,
        phrases=() if words is None else (*words.yes, *words.no),
        language=state.language,
    )


def option_phrases(node: MenuNode, language: str) -> tuple[str, ...]:
    """Every phrase of ``node``'s options in ``language``, in menu order, each once."""
    phrases = (p for option in node.options for p in option.phrases.get(language, ()))
    return tuple(dict.fromkeys(phrases))
