"""What a caller asked for, in words: the menu choices along the call's IVR path.

The context snapshot stores node ids (``main`` → ``card_services``); a customer or an agent wants
the choice as the caller heard it ("카드 서비스"). Each step from a ``menu`` node to the node its
option leads to is named by that option's first phrase in the chat's language (keypad-only
options, which have no words, name nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from config.menu import Menu, MenuNode


def topics(menu: Menu, path: Sequence[str], language: str) -> list[str]:
    """The choices made along ``path`` (node ids in order), as words, without repeats."""
    named: list[str] = []
    for here, there in pairwise(path):
        node = menu.nodes.get(here)
        if not isinstance(node, MenuNode):
            continue
        for option in node.options:
            if option.next == there:
                # A keypad-only option has no words of its own: its key says nothing.
                phrases = option.phrases.get(language) or ()
                if phrases and phrases[0] not in named:
                    named.append(phrases[0])
                break
    return named
