"""What a node takes from the rest of its menu document: declared ids and menu-wide settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from config.menu import Schedule, SpeechThresholds
from config.menu_fields import Section


@dataclass(frozen=True)
class NodeContext:
    """The document around the nodes, as node builders need it.

    Attributes:
        schedules: Every id under ``schedules`` (valid or not: their own problems are
            reported there), for nodes that name a schedule.
        queues: Every id under ``queues``, likewise.
        speech: The menu's speech thresholds, which a node's own ``speech`` keys override one
            by one.
        valid_schedules: The schedules that are entirely valid, for rules about their hours.

    """

    schedules: frozenset[str]
    queues: frozenset[str]
    speech: SpeechThresholds
    valid_schedules: Mapping[str, Schedule] = field(default_factory=dict)


def declared_id(sec: Section, name: str, declared: frozenset[str]) -> str | None:
    """An id under ``name`` that must be one of the document's top-level ``{name}s``."""
    value = sec.name(name, name)
    if value is not None and value not in declared:
        listed = ", ".join(sorted(declared)) or "none"
        sec.report(name, f"names unknown {name} '{value}' (declared {name}s: {listed})")
        return None
    return value
