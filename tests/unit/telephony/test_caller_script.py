"""The caller's script entries: keys, silence, speech and recordings, with or without barge-in."""

from __future__ import annotations

import pytest

from telephony.simulator.script import (
    Keys,
    PlayAudio,
    Say,
    Silence,
    describe_entry,
    parse_entry,
)


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("1", Keys("1")),
        ("12345678#", Keys("12345678#")),
        ("*0#", Keys("*0#")),
        ("-", Silence()),
        ("", Silence()),
        ("say:상담원 연결", Say("상담원 연결")),
        ("say:  잔액 조회 ", Say("잔액 조회")),
        ("say@800:상담원", Say("상담원", barge_in_ms=800)),
        ("say@0:네", Say("네", barge_in_ms=0)),
        ("say:a: b", Say("a: b")),
        ("play:/tmp/hello.wav", PlayAudio("/tmp/hello.wav")),
        ("play@250:/tmp/hello.wav", PlayAudio("/tmp/hello.wav", barge_in_ms=250)),
    ],
)
def test_entry_forms_are_read(entry: str, parsed: object) -> None:
    assert parse_entry(entry) == parsed


@pytest.mark.parametrize(
    "entry",
    ["1a", "say:", "say:   ", "say@:hi", "say@-5:hi", "say@1.5:hi", "sing:hi", "play:", "SAY:hi"],
)
def test_unreadable_entry_is_refused_naming_it(entry: str) -> None:
    with pytest.raises(ValueError, match=f"^{entry!r} is not keys 0-9"):
        parse_entry(entry)


def test_entries_are_described_as_what_the_caller_did() -> None:
    assert [
        describe_entry(parse_entry(entry)) for entry in ("12#", "-", "say@10:네", "play:/a.wav")
    ] == ["pressing 12#", "silence", "saying '네'", "playing /a.wav"]
