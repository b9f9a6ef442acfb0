"""The caller's script: what the caller does at each chance to answer, one entry per chance.

Entries are short strings, so a scenario reads like what a tester types:

- ``"1"``, ``"12345678#"``: press these keys (DTMF);
- ``"-"`` or ``""``: stay silent;
- ``"say:상담원 연결"``: say the text once the prompt has finished playing;
- ``"say@800:상담원"``: barge in: start saying it 800 ms after the prompt's audio began;
- ``"play:/tmp/hello.wav"``, ``"play@500:/tmp/hello.wav"``: the same with a recording.

At a keypad ``<Gather>``, a chance is the Gather; on a ``<Connect><Stream>``, each prompt (a
burst of audio from the server) is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

SILENT_ENTRIES: Final = frozenset({"", "-"})
"""Script entries meaning "the caller stays silent"."""

DTMF_KEYS: Final = frozenset("0123456789*#")

_SPOKEN: Final = re.compile(r"(?P<kind>say|play)(?:@(?P<at>[0-9]+))?:(?P<what>.*)", re.DOTALL)


@dataclass(frozen=True)
class Keys:
    """Press ``keys`` in order."""

    keys: str


@dataclass(frozen=True)
class Silence:
    """Stay silent: let the server's timeout run."""


@dataclass(frozen=True)
class Say:
    """Speak ``text`` (synthesized with espeak-ng).

    Attributes:
        text: What the caller says.
        barge_in_ms: Start this many ms after the prompt's first audio arrived, even while it
            plays; None: wait until it has finished playing.

    """

    text: str
    barge_in_ms: int | None = None


@dataclass(frozen=True)
class PlayAudio:
    """Speak by playing a recording into the line (a WAV file: PCM16 or μ-law, any rate).

    Attributes:
        path: The WAV file.
        barge_in_ms: As for ``Say``.

    """

    path: str
    barge_in_ms: int | None = None


Spoken = Say | PlayAudio
ScriptEntry = Keys | Silence | Say | PlayAudio

ENTRY_SYNTAX: Final = "keys 0-9 * #, '-' for silence, say:TEXT, say@MS:TEXT or play:PATH"


def parse_entry(entry: str) -> ScriptEntry:
    """Read one script entry.

    Args:
        entry: What the caller does, e.g. ``"1"``, ``"-"``, ``"say@800:상담원"``.

    Returns:
        The entry.

    Raises:
        ValueError: The entry is none of the forms above; the message names it.

    """
    if entry in SILENT_ENTRIES:
        return Silence()
    if set(entry) <= DTMF_KEYS:
        return Keys(entry)
    spoken = _SPOKEN.fullmatch(entry)
    if spoken is None or not spoken["what"].strip():
        raise ValueError(f"{entry!r} is not {ENTRY_SYNTAX}")
    at = None if spoken["at"] is None else int(spoken["at"])
    what = spoken["what"].strip()
    return Say(what, at) if spoken["kind"] == "say" else PlayAudio(what, at)


def describe_entry(entry: ScriptEntry) -> str:
    """The entry as a person would say what the caller did (for notes and errors)."""
    match entry:
        case Keys(keys=keys):
            return f"pressing {keys}"
        case Silence():
            return "silence"
        case Say(text=text):
            return f"saying {text!r}"
        case PlayAudio(path=path):
            return f"playing {path}"
