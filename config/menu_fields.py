"""Reading one mapping of a menu document into typed values, reporting each problem in place."""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, TypeGuard

from config.menu import INPUT_DTMF, INPUT_SPEECH
from config.menu_issues import Issues

# Ids end up in URLs, log lines and the admin editor's DOM: keep them plain.
NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
NAME_RULE: Final = "use letters, digits, '_' and '-' (at most 64 characters)"
INPUT_KINDS: Final = (INPUT_DTMF, INPUT_SPEECH)

# Bounded: a value built from YAML aliases can be exponentially large once printed in full.
SHOWN_CHARS: Final = 80
_SHOWN: Final = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict = 2, 4, 4
_SHOWN.maxstring = _SHOWN.maxother = SHOWN_CHARS


def shown(value: object) -> str:
    """``value`` as written in a message: like `repr`, but never longer than a line or so."""
    text = _SHOWN.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def is_int(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an integer and not a boolean (``True`` is an ``int`` in Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Section:
    """A mapping of the menu document and where it sits: the node and the field path.

    Readers return the value when it is valid, otherwise report the problem (naming
    ``node`` and the field under ``path``) and return None or the default. A missing key is
    not reported by the readers: `check_keys` reports missing required keys once.

    Attributes:
        data: The raw mapping.
        issues: Where problems are recorded.
        node: The node id, or None outside ``nodes``.
        path: The field path of ``data`` inside the node or document ("" at the top).
        languages: The menu languages every prompt must cover, or None when the menu's own
            list is broken (then prompts are checked for shape only, to avoid noise).

    """

    data: Mapping[Any, Any]
    issues: Issues
    node: str | None = None
    path: str = ""
    languages: tuple[str, ...] | None = None

    def where(self, name: str) -> str:
        """The field path of key ``name`` of this section."""
        return f"{self.path}.{name}" if self.path else name

    def report(self, name: str, message: str) -> None:
        """Record a problem with key ``name`` of this section."""
        self.issues.add(self.node, self.where(name), message)

    def report_self(self, message: str) -> None:
        """Record a problem with this section as a whole."""
        self.issues.add(self.node, self.path or "id", message)

    def check_keys(self, required: Collection[str], optional: Collection[str], what: str) -> None:
        """Report required keys that are missing and keys that are not known (typos)."""
        known = sorted({*required, *optional})
        for name in sorted(set(required) - set(self.data)):
            self.report(name, f"is required for {what}")
        for key in self.data:
            if key not in known:
                self.report(str(key), _unknown_key_message(str(key), known, what))

    def section(self, name: str) -> Section | None:
        """The nested mapping under ``name``, or None when absent or not a mapping."""
        if name not in self.data:
            return None
        value = self.data[name]
        if not isinstance(value, Mapping):
            self.report(name, "must be a mapping")
            return None
        return replace(self, data=value, path=self.where(name))

    def text(self, name: str) -> str | None:
        """A non-empty string under ``name``."""
        if name not in self.data:
            return None
        value = self.data[name]
        if not isinstance(value, str) or not value.strip():
            self.report(name, "must be non-empty text")
            return None
        return value.strip()

    def name(self, name: str, what: str) -> str | None:
        """An id under ``name`` naming ``what`` (a node, a schedule, a queue)."""
        value = self.text(name)
        if value is not None and not NAME.fullmatch(value):
            self.report(name, f"'{value}' is not a valid {what} id: {NAME_RULE}")
            return None
        return value

    def integer(self, name: str, low: int, high: int, default: int) -> int:
        """An integer from ``low`` to ``high`` under ``name``, or ``default`` when absent."""
        value = self.optional_integer(name, low, high)
        return default if value is None else value

    def optional_integer(self, name: str, low: int, high: int) -> int | None:
        """An integer from ``low`` to ``high`` under ``name``, or None when absent or invalid."""
        if name not in self.data:
            return None
        value = self.data[name]
        if not is_int(value) or not low <= value <= high:
            self.report(name, f"must be a whole number from {low} to {high}, not {shown(value)}")
            return None
        return int(value)

    def flag(self, name: str, default: bool) -> bool:
        """A boolean under ``name``, or ``default`` when absent."""
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, bool):
            self.report(name, f"must be true or false, not {shown(value)}")
            return default
        return value

    def inputs(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """How a node listens: a non-empty list drawn from ``dtmf`` and ``speech``."""
        if name not in self.data:
            return default
        value = self.data[name]
        kinds = " and ".join(INPUT_KINDS)
        if not isinstance(value, list) or not value:
            self.report(name, f"must be a non-empty list of {kinds}, e.g. [dtmf, speech]")
            return default
        for index, kind in enumerate(value):
            if kind not in INPUT_KINDS:
                self.report(f"{name}[{index}]", f"{shown(kind)} is not an input; use {kinds}")
            elif kind in value[:index]:
                self.report(f"{name}[{index}]", f"repeats {shown(kind)}")
        return tuple(value)

    def prompt(self, name: str, *, complete: bool = True) -> dict[str, str] | None:
        """Texts per language under ``name``: every menu language, or a subset if not complete."""
        if name not in self.data:
            return None
        value = self.data[name]
        if not isinstance(value, Mapping) or not value:
            self.report(name, "must give the text per language, e.g. {ko: ..., en: ...}")
            return None
        texts: dict[str, str] = {}
        for lang, text in value.items():
            if self.check_language(f"{name}.{lang}", lang, text):
                if isinstance(text, str) and text.strip():
                    texts[lang] = text.strip()
                else:
                    self.report(f"{name}.{lang}", "must be non-empty text")
        if complete and self.languages is not None:
            for lang in self.languages:
                if lang not in value:
                    self.report(name, f"lacks the '{lang}' text")
        return texts

    def check_language(self, field: str, lang: object, value: object) -> bool:
        """Report ``lang`` (the key ``field``, holding ``value``) unless it is a menu language."""
        if self.languages is None or lang in self.languages:
            return True
        message = f"'{lang}' is not a menu language ({', '.join(self.languages)})"
        if value is None and isinstance(lang, str) and " " in lang:
            message += "; a comma inside unquoted {...} text splits it: quote the text"
        self.issues.add(self.node, self.where(field), message)
        return False


def _unknown_key_message(key: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
    return f"is not a field of {what}; {hint}"
