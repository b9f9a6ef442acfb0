"""TwiML as Twilio would take it: ``check_twiml`` parses a document or says why it is refused.

Strict by design. Besides what Twilio itself refuses (XML that is not well formed, a root other
than ``<Response>``, unknown verbs, bad nesting, attribute values of the wrong type), the rules
also refuse **unknown attributes on known verbs**, which Twilio silently ignores: in our own
TwiML such an attribute is a typo (``numdigits``, ``finishOnkey``) whose intent is lost.
Verbs and nouns that Twilio knows but voicedesk never emits (``<Pay>``, ``<Refer>``,
``<ConversationRelay>``, …) are refused too, named as not modelled. The vocabulary itself lives
in ``twiml_vocabulary``.

Every refusal names the place as an element path with 1-based positions among same-named
siblings, e.g. ``Response/Gather[1]/@numDigits: 'x' is not a positive integer``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from telephony.simulator.twiml_vocabulary import (
    NOT_MODELLED,
    REQUIRED_ATTRIBUTES,
    RULES,
    SSML_NAMES,
    WAIT_URL_VERBS,
    XML_NAMESPACE,
    ElementRule,
    TextRule,
)

ROOT: Final = "Response"


class TwimlRejected(ValueError):
    """Twilio would refuse this TwiML; ``reason`` says where and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TwimlNode:
    """One checked TwiML element.

    Attributes:
        name: The tag, e.g. ``Gather``.
        path: Where it is, e.g. ``Response/Gather[1]``.
        attributes: Its attributes as written (``xml:lang`` keeps its prefix).
        text: Its text content, stripped (for ``<Say>`` with SSML, all nested text).
        children: The elements it contains, in order.

    """

    name: str
    path: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[TwimlNode, ...] = ()

    def get(self, attribute: str, default: str | None = None) -> str | None:
        """The value of ``attribute``, or ``default`` when it is absent."""
        return self.attributes.get(attribute, default)


@dataclass(frozen=True)
class Document:
    """A checked ``<Response>``: the verbs to run, in order, and the XML they came from."""

    verbs: tuple[TwimlNode, ...]
    xml: str


def check_twiml(xml: str, *, wait_url: bool = False) -> Document:
    """Parse ``xml`` as a TwiML voice response, refusing what Twilio would refuse.

    Args:
        xml: The body of a webhook response.
        wait_url: Check it as an ``<Enqueue waitUrl>`` document, which may hold only
            Play, Say, Pause, Gather, Redirect, Hangup and Leave.

    Returns:
        The checked document.

    Raises:
        TwimlRejected: With the element path and the reason.

    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        raise TwimlRejected(f"not well-formed XML: {err}") from err
    if root.tag != ROOT:
        raise TwimlRejected(f"root element is <{root.tag}>, not <{ROOT}>")
    document = Document(verbs=_node(root, ROOT, parent=None).children, xml=xml)
    if wait_url:
        _check_wait_url(document)
    return document


def _check_wait_url(document: Document) -> None:
    for verb in document.verbs:
        if verb.name not in WAIT_URL_VERBS:
            allowed = ", ".join(sorted(WAIT_URL_VERBS))
            raise TwimlRejected(f"{verb.path}: a waitUrl document may hold only {allowed}")


def _node(element: ET.Element, path: str, parent: str | None) -> TwimlNode:
    rule = _rule_for(element.tag, path, parent)
    attributes = _attributes(element, path, rule)
    children = _children(element, path, rule)
    text = _text(element, path, rule)
    node = TwimlNode(element.tag, path, attributes, text, children)
    _check_shape(node, parent)
    return node


def _rule_for(tag: str, path: str, parent: str | None) -> ElementRule:
    if tag in NOT_MODELLED:
        raise TwimlRejected(f"{path}: <{tag}> is TwiML voicedesk does not use (not modelled)")
    rule = RULES.get(tag)
    if rule is None or (parent is not None and tag not in RULES[parent].children):
        raise TwimlRejected(_misplaced(tag, path, parent, known=rule is not None))
    return rule


def _misplaced(tag: str, path: str, parent: str | None, *, known: bool) -> str:
    if not known:
        kind = "verb" if parent == ROOT else "element"
        return f"{path}: unknown {kind} <{tag}>"
    allowed = sorted(RULES[parent].children) if parent else []
    if not allowed:
        return f"{path}: <{parent}> may not contain <{tag}>"
    return f"{path}: <{parent}> may contain only {', '.join(allowed)}; found <{tag}>"


def _attributes(element: ET.Element, path: str, rule: ElementRule) -> dict[str, str]:
    attributes = {name.replace(XML_NAMESPACE, "xml:"): value for name, value in element.items()}
    for name, value in attributes.items():
        check = rule.attributes.get(name)
        if check is None:
            raise TwimlRejected(f"{path}/@{name}: unknown attribute of <{element.tag}>")
        problem = check(value)
        if problem is not None:
            raise TwimlRejected(f"{path}/@{name}: {problem}")
    for name in sorted(REQUIRED_ATTRIBUTES.get(element.tag, frozenset()) - attributes.keys()):
        raise TwimlRejected(f"{path}/@{name}: required attribute of <{element.tag}> is missing")
    return attributes


def _text(element: ET.Element, path: str, rule: ElementRule) -> str:
    own = "".join([element.text or ""] + [child.tail or "" for child in element])
    if rule.text is TextRule.FORBIDDEN:
        if own.strip():
            raise TwimlRejected(f"{path}: <{element.tag}> may not hold text; found {own.strip()!r}")
        return ""
    # Spoken text runs on through SSML children; elsewhere children carry their own text.
    spoken = element.tag == "Say" or element.tag in SSML_NAMES
    text = " ".join(("".join(element.itertext()) if spoken else own).split())
    if rule.text is TextRule.REQUIRED and not text and rule.text_check is None:
        raise TwimlRejected(f"{path}: <{element.tag}> needs text")
    if rule.text_check is not None and (text or rule.text is TextRule.REQUIRED):
        problem = rule.text_check(text)
        if problem is not None:
            raise TwimlRejected(f"{path}/text(): {problem}")
    return text


def _children(element: ET.Element, path: str, rule: ElementRule) -> tuple[TwimlNode, ...]:
    seen: dict[str, int] = {}
    children: list[TwimlNode] = []
    for child in element:
        seen[child.tag] = seen.get(child.tag, 0) + 1
        children.append(_node(child, f"{path}/{child.tag}[{seen[child.tag]}]", element.tag))
    return tuple(children)


def _check_shape(node: TwimlNode, parent: str | None) -> None:
    """Rules that tie an element's text, attributes and children together."""
    problem: str | None = None
    match node.name:
        case "Play" if not node.text and "digits" not in node.attributes:
            problem = "<Play> needs a URL to play (or a digits attribute)"
        case "Dial" if bool(node.text) == bool(node.children):
            problem = "<Dial> needs either a number as text or nouns, not both and not neither"
        case "Client" if bool(node.text) == any(c.name == "Identity" for c in node.children):
            problem = "<Client> needs an identity, as text or as <Identity>, not both"
        case "Enqueue" if not node.text and "workflowSid" not in node.attributes:
            problem = "<Enqueue> needs a queue name (or a workflowSid)"
        case "Stream" if parent != "Stop" and "url" not in node.attributes:
            problem = "<Stream> needs a url"
        case "Stream" | "Siprec" if parent == "Stop" and not node.attributes:
            problem = f"<{node.name}> in <Stop> needs the name of the one to stop"
    if problem is not None:
        raise TwimlRejected(f"{node.path}: {problem}")
