"""Loading a menu file (YAML or JSON) and validating it into the frozen `Menu` (MENU_FORMAT.md).

Besides the keys of MENU_FORMAT.md the top level takes three optional keys:

- ``fallback``: the node a call is routed to after an internal failure (after the ``error``
  message); without it the call hears ``goodbye`` and is hung up.
- ``outage``: the node a call is routed to while the database cannot be reached (a ``queue``
  or ``transfer`` node, which need no database to take the call; docs/RELIABILITY.md); by
  default the ``fallback`` when it is one of those, else the caller hears ``error`` and is
  hung up.
- ``messages``: overrides of the built-in system messages (`config.messages.MessageKey`), per
  message per language, e.g. ``messages: {error: {ko: ..., en: ...}}``; every text of a
  message with placeholders must contain each of them (``{choice}`` in ``confirm``,
  ``{position}`` and ``{minutes}`` in ``queue_position``, ...: `config.messages.placeholders`).
- ``speech``: the confidence thresholds of spoken answers, ``{accept: 0.8, confirm: 0.45}``
  (each optional); ``menu``, ``collect``, ``callback`` and ``survey`` nodes that listen to
  speech may override them.

Unknown keys are refused everywhere, so that a typo never silently changes a call flow.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from yaml.constructor import ConstructorError

from config.menu import ChatNode, Menu, Node, QueueNode, SpeechThresholds, TransferNode
from config.menu_fields import Section, shown
from config.menu_graph import check_graph, edges_of
from config.menu_issues import Issues, MenuError, MenuIssue
from config.messages import PLACEHOLDER_MEANINGS, MessageKey, builtin_message, placeholders
from config.node_context import NodeContext
from config.node_parse import parse_nodes
from config.queue_parse import parse_queues
from config.schedule_parse import parse_schedules
from config.speech_parse import parse_speech

__all__ = [
    "MenuError",
    "MenuIssue",
    "check_menu_file",
    "load_menu_file",
    "menu_checksum",
    "parse_menu",
    "read_menu_source",
    "read_menu_text",
]

Syntax = Literal["yaml", "json"]
SUFFIXES: Final[Mapping[str, Syntax]] = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
MENU_ID: Final = re.compile(r"[a-z0-9_-]+")
LANGUAGE_CODE: Final = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
REQUIRED: Final = ("id", "languages", "start", "nodes")
OPTIONAL: Final = ("schedules", "queues", "fallback", "outage", "messages", "speech")


def load_menu_file(path: Path) -> Menu:
    """Read and validate the menu file at ``path`` (``.yaml``, ``.yml`` or ``.json``).

    Raises:
        MenuError: When the file cannot be read or parsed, or the menu breaks a rule.

    """
    return parse_menu(read_menu_source(path))


def check_menu_file(path: Path) -> list[MenuIssue]:
    """Every problem of the menu file at ``path``; empty when it is valid (``check-menu``)."""
    try:
        load_menu_file(path)
    except MenuError as err:
        return list(err.issues)
    return []


def read_menu_source(path: Path) -> dict[str, Any]:
    """The raw document of the menu file at ``path``, parsed but not validated.

    Raises:
        MenuError: With field ``file`` when the file cannot be read or has an unknown suffix,
            ``yaml`` or ``json`` (with the line) when it does not parse, ``document`` when it
            is not a mapping.

    """
    syntax = SUFFIXES.get(path.suffix.lower())
    if syntax is None:
        known = ", ".join(SUFFIXES)
        raise MenuError([MenuIssue(None, "file", f"{path.name}: use one of {known}")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as err:
        raise MenuError([MenuIssue(None, "file", f"cannot read {path}: {err}")]) from err
    return read_menu_text(text, syntax)


def read_menu_text(text: str, syntax: Syntax) -> dict[str, Any]:
    """The raw document in ``text`` (YAML or JSON), e.g. a menu an admin pasted or uploaded.

    YAML is read without YAML 1.1's surprises: ``yes``/``no``/``on``/``off`` stay text (they
    are plausible speech phrases) and dates stay ISO text, so the document is JSON as it is.
    A key given twice in one mapping is an error rather than silently overriding the first.

    Raises:
        MenuError: With field ``yaml`` or ``json`` (naming line and column) when the text does
            not parse, ``document`` when it is not a mapping.

    """
    document = _parse_yaml(text) if syntax == "yaml" else _parse_json(text)
    if document is None:
        raise MenuError([MenuIssue(None, "document", "is empty")])
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise MenuError([MenuIssue(None, "document", f"must be a mapping of keys, not a {kind}")])
    return document


def menu_checksum(document: Mapping[str, Any]) -> str:
    """The sha256 hex digest of the document's canonical JSON (sorted keys, compact, UTF-8)."""
    canonical = json.dumps(
        dict(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_menu(data: Mapping[str, Any]) -> Menu:
    """Validate a raw menu document and build the frozen `Menu`.

    Raises:
        MenuError: Listing every problem found, each naming its node and field.

    """
    if not isinstance(data, Mapping):
        raise MenuError([MenuIssue(None, "document", "must be a mapping of keys")])
    issues = Issues()
    top = Section(data, issues)
    top.check_keys(REQUIRED, OPTIONAL, "a menu")
    menu_id = _menu_id(top)
    top = replace(top, languages=_languages(top))
    schedules = parse_schedules(top.section("schedules"))
    queues = parse_queues(top.section("queues"))
    messages = _messages(top)
    speech = parse_speech(top.section("speech"), SpeechThresholds()) or SpeechThresholds()
    start, fallback = top.text("start"), top.text("fallback")
    context = NodeContext(_declared(top, "schedules"), _declared(top, "queues"), speech, schedules)
    outage = top.text("outage")
    nodes = _nodes(top, {"start": start, "fallback": fallback, "outage": outage}, context)
    _check_outage(nodes, outage, issues)
    if len(issues) or menu_id is None or start is None or top.languages is None:
        raise MenuError(issues)
    return Menu(
        id=menu_id,
        languages=top.languages,
        start=start,
        nodes=nodes,
        schedules=schedules,
        queues=queues,
        messages=messages,
        fallback=fallback,
        checksum=menu_checksum(data),
        speech=speech,
        outage=outage,
    )


def _nodes(top: Section, roots: Mapping[str, str | None], context: NodeContext) -> dict[str, Node]:
    """The valid nodes; checks them one by one, then the graph they make from ``roots``."""
    section = top.section("nodes")
    if section is None:
        return {}
    nodes = parse_nodes(section, context)
    node_ids = [node_id for node_id in section.data if isinstance(node_id, str)]
    check_graph(edges_of(section.data), node_ids, roots, top.issues)
    _check_chat_offers(nodes, top.issues)
    return nodes


def _check_outage(nodes: Mapping[str, Node], outage: str | None, issues: Issues) -> None:
    """``outage`` must name a queue or transfer node: no other node takes a call without data."""
    target = nodes.get(outage) if outage is not None else None
    if target is not None and not isinstance(target, QueueNode | TransferNode):
        kind = type(target).__name__.removesuffix("Node").lower()
        issues.add(
            None, "outage", f"must name a queue or transfer node, but '{outage}' is a {kind} node"
        )


def _check_chat_offers(nodes: Mapping[str, Node], issues: Issues) -> None:
    """A queue's ``offer_chat`` must name a ``chat`` node (unknown names are reported already)."""
    for node in nodes.values():
        offered = node.offer_chat if isinstance(node, QueueNode) else None
        if offered is not None and offered in nodes:
            target = nodes[offered]
            if not isinstance(target, ChatNode):
                kind = type(target).__name__.removesuffix("Node").lower()
                issues.add(
                    node.id,
                    "offer_chat",
                    f"must name a chat node, but '{offered}' is a {kind} node",
                )


def _menu_id(top: Section) -> str | None:
    menu_id = top.text("id")
    if menu_id is not None and not MENU_ID.fullmatch(menu_id):
        top.report("id", f"'{menu_id}' is not a menu id: use a-z, 0-9, '_' and '-'")
        return None
    return menu_id


def _languages(top: Section) -> tuple[str, ...] | None:
    """The menu languages, or None when the list is broken (problems are reported)."""
    if "languages" not in top.data:
        return None
    value = top.data["languages"]
    if not isinstance(value, list) or not value:
        top.report("languages", "must be a non-empty list of language codes, e.g. [ko, en]")
        return None
    problems = len(top.issues)
    for index, code in enumerate(value):
        if not isinstance(code, str) or not LANGUAGE_CODE.fullmatch(code):
            top.report(
                f"languages[{index}]", f"{shown(code)} is not a language code like ko or en-US"
            )
        elif code in value[:index]:
            top.report(f"languages[{index}]", f"repeats '{code}'")
    return tuple(value) if len(top.issues) == problems else None


def _declared(top: Section, name: str) -> frozenset[str]:
    """The ids under top-level ``name`` (valid or not: their own problems are reported there)."""
    value = top.data.get(name)
    return frozenset(str(key) for key in value) if isinstance(value, Mapping) else frozenset()


def _messages(top: Section) -> dict[str, dict[str, str]]:
    """The system messages per key per menu language: the menu's overrides, else built-ins."""
    overrides: dict[str, dict[str, str]] = {}
    section = top.section("messages")
    if section is not None:
        known = [key.value for key in MessageKey]
        section.check_keys((), known, "messages")
        for key in MessageKey:
            overrides[key] = section.prompt(key, complete=False) or {}
            _check_placeholders(section, key, overrides[key])
    if top.languages is None:
        return {}
    merged: dict[str, dict[str, str]] = {}
    for key in MessageKey:
        merged[key.value] = {}
        for lang in top.languages:
            text = overrides.get(key.value, {}).get(lang) or builtin_message(key, lang)
            if text is None:
                top.report(f"messages.{key.value}", f"needs a '{lang}' text: none is built in")
            else:
                merged[key.value][lang] = text
    return merged


def _check_placeholders(messages: Section, key: MessageKey, texts: Mapping[str, str]) -> None:
    """Every override of message ``key`` must say where each of its values is put."""
    for lang, text in texts.items():
        for placeholder in placeholders(key):
            if placeholder not in text:
                messages.report(
                    f"{key.value}.{lang}",
                    f"must contain {placeholder}, {PLACEHOLDER_MEANINGS[placeholder]}",
                )


class _MenuYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys, with YAML 1.2's booleans and no dates."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice",
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_DATE_TAG: Final = "tag:yaml.org,2002:timestamp"
_MenuYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _DATE_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MenuYamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_MenuYamlLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = err.problem or err.context or "not valid YAML"
        raise MenuError([MenuIssue(None, "yaml", f"{where}{problem}")]) from err
    except yaml.YAMLError as err:
        raise MenuError([MenuIssue(None, "yaml", str(err))]) from err


class _DuplicateKeyError(ValueError):
    """A JSON object gives the same key twice."""


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        raise MenuError([MenuIssue(None, "json", f"{where}: {err.msg}")]) from err
    except _DuplicateKeyError as err:
        raise MenuError([MenuIssue(None, "json", str(err))]) from err


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKeyError(f"found the key {key!r} twice in one object")
        document[key] = value
    return document
