"""The menu as a graph of node references: unknown targets, unreachable nodes, endless loops.

The graph is read from the raw document rather than from the built nodes, so that one bad field
in a node does not make every node after it look unreachable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from config.menu_issues import Issues

# Nodes that wait for the caller: a loop through one of them is the caller's choice, not a hang.
INPUT_TYPES: Final = frozenset({"menu", "collect", "callback", "survey"})
# The reference fields of each node type, besides ``options[i].next`` of a menu. A queue's
# `overflow` and `after_agent` are followed without the caller's input: a loop through them
# would keep a caller waiting, or coming back to the queue, for ever.
REFERENCES: Final[Mapping[str, tuple[str, ...]]] = {
    "say": ("next",),
    "menu": ("fallback",),
    "collect": ("next", "fallback"),
    "hours": ("open", "closed"),
    "transfer": ("next",),
    "queue": ("next", "overflow", "after_agent", "offer_chat"),
    "callback": ("next", "fallback", "after_agent"),
    "survey": ("next",),
    "chat": ("next",),
    "hangup": (),
    "goto": ("next",),
}
# References followed only when the caller picks them (a key at a queue's offer).
CHOSEN_REFERENCES: Final = frozenset({"offer_chat"})
ANY_REFERENCE: Final = (
    "next",
    "open",
    "closed",
    "fallback",
    "overflow",
    "after_agent",
    "offer_chat",
)


@dataclass(frozen=True)
class Edge:
    """Field ``field`` of node ``source`` names node ``target``.

    Attributes:
        waits: Whether ``source`` waits for caller input before following the edge.

    """

    source: str
    field: str
    target: str
    waits: bool


def edges_of(nodes: Mapping[Any, Any]) -> list[Edge]:
    """Every node reference in the raw ``nodes`` mapping that is at least a string."""
    edges: list[Edge] = []
    for node_id, raw in nodes.items():
        if isinstance(node_id, str) and isinstance(raw, Mapping):
            edges.extend(_node_edges(node_id, raw))
    return edges


def _node_edges(node_id: str, raw: Mapping[Any, Any]) -> Iterable[Edge]:
    kind = raw.get("type")
    fields = REFERENCES.get(kind) if isinstance(kind, str) else None
    # An unknown type is reported elsewhere; its references still count for reachability, but
    # it is treated as waiting so that it raises no loop errors of its own.
    waits = fields is None or kind in INPUT_TYPES
    for field in ANY_REFERENCE if fields is None else fields:
        if isinstance(raw.get(field), str):
            # A queue's chat offer is taken only by a key press: the caller's choice.
            yield Edge(node_id, field, raw[field], waits or field in CHOSEN_REFERENCES)
    options = raw.get("options")
    if (kind == "menu" or fields is None) and isinstance(options, list):
        for index, option in enumerate(options):
            if isinstance(option, Mapping) and isinstance(option.get("next"), str):
                yield Edge(node_id, f"options[{index}].next", option["next"], waits)


def check_graph(
    edges: list[Edge], node_ids: list[str], roots: Mapping[str, str | None], issues: Issues
) -> None:
    """Report references to unknown nodes, nodes no call can reach, and loops without input.

    Args:
        edges: The document's node references.
        node_ids: Every declared node id, in document order.
        roots: Top-level fields where calls enter the graph (``start``, ``fallback``) and the
            node each names, if any.
        issues: Where problems are recorded.

    """
    declared = set(node_ids)
    for edge in edges:
        if edge.target not in declared:
            issues.add(edge.source, edge.field, f"names unknown node '{edge.target}'")
    for field, target in roots.items():
        if target is not None and target not in declared:
            issues.add(None, field, f"names unknown node '{target}'")
    known_edges = [edge for edge in edges if edge.target in declared]
    start = roots.get("start")
    if start in declared:
        entries = [target for target in roots.values() if target is not None and target in declared]
        _check_reachable(known_edges, node_ids, entries, start, issues)
    _check_loops(known_edges, node_ids, issues)


def _check_reachable(
    edges: list[Edge], node_ids: list[str], entries: list[str], start: str, issues: Issues
) -> None:
    following: dict[str, list[str]] = {}
    for edge in edges:
        following.setdefault(edge.source, []).append(edge.target)
    reached = set(entries)
    pending = list(reached)
    while pending:
        for target in following.get(pending.pop(), ()):
            if target not in reached:
                reached.add(target)
                pending.append(target)
    for node_id in node_ids:
        if node_id not in reached:
            issues.add(node_id, "id", f"cannot be reached from start node '{start}'")


def _check_loops(edges: list[Edge], node_ids: list[str], issues: Issues) -> None:
    following: dict[str, list[Edge]] = {}
    for edge in edges:
        if not edge.waits:
            following.setdefault(edge.source, []).append(edge)
    for edge, loop in find_loops(following, node_ids):
        route = " → ".join(loop)
        issues.add(
            edge.source,
            edge.field,
            f"loops back without waiting for input ({route}); end the path or add a menu",
        )


def find_loops(
    following: Mapping[str, list[Edge]], order: list[str]
) -> list[tuple[Edge, list[str]]]:
    """The edges that close a loop, each with the loop's node ids (a depth-first search).

    Args:
        following: The edges leaving each node.
        order: The node ids in the order to start searches from (document order).

    """
    # White nodes are absent from `state`; grey ones are on the current path; black are done.
    grey, black = 1, 2
    state: dict[str, int] = {}
    loops: list[tuple[Edge, list[str]]] = []
    for root in order:
        if root in state:
            continue
        state[root] = grey
        path, stack = [root], [iter(following.get(root, ()))]
        while stack:
            edge = next(stack[-1], None)
            if edge is None:
                state[path.pop()] = black
                stack.pop()
            elif state.get(edge.target) == grey:
                loops.append((edge, [*path[path.index(edge.target) :], edge.target]))
            elif edge.target not in state:
                state[edge.target] = grey
                path.append(edge.target)
                stack.append(iter(following.get(edge.target, ())))
    return loops
