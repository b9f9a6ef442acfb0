"""Problems found in a menu: each names the node and the field, and all are reported at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class MenuIssue:
    """One broken rule of a menu document.

    Attributes:
        node: The node the problem is in, or None for a top-level field (``languages``,
            ``schedules.main.timezone``, ``messages.error``, ...).
        field: Where in the node (or document) the problem is, e.g. ``options[1].next``,
            ``prompt.en``, ``digits.min``. ``id`` stands for the node as a whole.
        message: What is wrong, in words an admin can act on.

    """

    node: str | None
    field: str
    message: str

    def __str__(self) -> str:
        if self.node is None:
            return f"field '{self.field}': {self.message}"
        return f"node '{self.node}', field '{self.field}': {self.message}"


class MenuError(ValueError):
    """A menu was refused; ``issues`` lists every problem found, in document order."""

    def __init__(self, issues: Iterable[MenuIssue]) -> None:
        self.issues: tuple[MenuIssue, ...] = tuple(issues)
        super().__init__(_describe(self.issues))


def _describe(issues: tuple[MenuIssue, ...]) -> str:
    if len(issues) == 1:
        return f"invalid menu: {issues[0]}"
    lines = "".join(f"\n  - {issue}" for issue in issues)
    return f"invalid menu, {len(issues)} problems:{lines}"


class Issues:
    """Collects the problems of one validation run so that all of them can be reported."""

    def __init__(self) -> None:
        self._found: list[MenuIssue] = []

    def add(self, node: str | None, field: str, message: str) -> None:
        """Record that ``field`` of ``node`` breaks a rule."""
        self._found.append(MenuIssue(node, field, message))

    def __len__(self) -> int:
        return len(self._found)

    def __iter__(self) -> Iterator[MenuIssue]:
        return iter(self._found)
