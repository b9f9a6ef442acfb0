"""The options of a ``menu`` node: keypad keys and spoken phrases, each unique in the node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from config.menu import INPUT_DTMF, INPUT_SPEECH, Option
from config.menu_fields import Section, is_int, shown

KEYPAD_KEYS: Final = frozenset("0123456789*#")


def keypad_key(value: object) -> str | None:
    """A single keypad key as text, accepting an unquoted YAML digit; None when not a key."""
    if is_int(value) and 0 <= value <= 9:
        return str(value)
    if isinstance(value, str) and len(value) == 1 and value in KEYPAD_KEYS:
        return value
    return None


def parse_options(sec: Section, inputs: tuple[str, ...]) -> tuple[Option, ...] | None:
    """The ``options`` of the menu node in ``sec``, or None when any breaks a rule.

    Args:
        sec: The menu node.
        inputs: How the node listens; an option must be choosable by one of them.

    """
    if "options" not in sec.data:
        return None
    raw = sec.data["options"]
    if not isinstance(raw, list) or not raw:
        sec.report("options", "must be a non-empty list of options")
        return None
    options: list[Option] = []
    keys: dict[str, str] = {}
    phrases: dict[tuple[str, str], str] = {}
    for index, item in enumerate(raw):
        option = _option(sec, f"options[{index}]", item, inputs)
        if option is not None:
            _check_unique_key(sec, f"options[{index}]", option, keys)
            _check_unique_phrases(sec, f"options[{index}]", option, phrases)
            options.append(option)
    return tuple(options) if len(options) == len(raw) else None


def _option(sec: Section, path: str, item: Any, inputs: tuple[str, ...]) -> Option | None:
    if not isinstance(item, Mapping):
        sec.report(path, "must be a mapping with a key and/or phrases, and next")
        return None
    opt = Section(item, sec.issues, sec.node, path, sec.languages)
    opt.check_keys(("next",), ("key", "phrases"), "an option")
    key = _option_key(opt)
    phrases = _phrases(opt)
    next_ = opt.text("next")
    if "key" not in item and "phrases" not in item:
        opt.report_self("needs a key, phrases, or both")
    elif INPUT_DTMF not in inputs and "phrases" not in item:
        opt.report(
            "key", "cannot be chosen: the node takes speech only and the option has no phrases"
        )
    elif INPUT_SPEECH not in inputs and "key" not in item:
        opt.report(
            "phrases", "cannot be chosen: the node takes keypad only and the option has no key"
        )
    if next_ is None or phrases is None:
        return None
    return Option(next=next_, key=key, phrases=phrases)


def _option_key(opt: Section) -> str | None:
    if "key" not in opt.data:
        return None
    value = opt.data["key"]
    key = keypad_key(value)
    if key is None:
        hint = " (in YAML, quote '*' and '#')" if value is None else ""
        opt.report("key", f"must be one keypad key: 0-9, '*' or '#', not {shown(value)}{hint}")
    return key


def _phrases(opt: Section) -> dict[str, tuple[str, ...]] | None:
    phrases = opt.section("phrases")
    if phrases is None:
        return None if "phrases" in opt.data else {}
    if not phrases.data:
        opt.report("phrases", "must give phrases per language, e.g. {ko: [...], en: [...]}")
        return None
    result: dict[str, tuple[str, ...]] = {}
    for lang, values in phrases.data.items():
        if not phrases.check_language(str(lang), lang, values):
            continue
        if not isinstance(values, list) or not values:
            phrases.report(str(lang), "must be a non-empty list of phrases")
            continue
        for index, phrase in enumerate(values):
            if not isinstance(phrase, str) or not phrase.strip():
                phrases.report(f"{lang}[{index}]", f"must be non-empty text, not {shown(phrase)}")
        result[str(lang)] = tuple(str(p).strip() for p in values)
    return result


def _check_unique_key(sec: Section, path: str, option: Option, seen: dict[str, str]) -> None:
    if option.key is None:
        return
    if option.key in seen:
        sec.report(f"{path}.key", f"key '{option.key}' is already used by {seen[option.key]}")
    else:
        seen[option.key] = path


def _check_unique_phrases(
    sec: Section, path: str, option: Option, seen: dict[tuple[str, str], str]
) -> None:
    for lang, phrases in option.phrases.items():
        for index, phrase in enumerate(phrases):
            field = f"{path}.phrases.{lang}[{index}]"
            spoken = (lang, " ".join(phrase.casefold().split()))
            if spoken in seen:
                sec.report(field, f"phrase '{phrase}' is already used by {seen[spoken]}")
            else:
                seen[spoken] = field
