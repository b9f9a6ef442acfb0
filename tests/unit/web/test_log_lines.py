"""Every log record is one line, whatever text from outside it carries (issue 10, findings 4, 9)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from web.logs import LOG_FORMAT, QUIET_LOGGERS, EscapingFormatter, configure, escape_controls

FORGED = "x\n2026-12-07 16:59:59,000 ERROR web.app: FORGED"


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    return logging.LogRecord(
        "web.twilio_routes",
        logging.WARNING,
        __file__,
        1,
        message,
        args,
        sys.exc_info() if exc else None,
    )


def test_a_forged_line_in_a_path_stays_inside_its_record() -> None:
    line = EscapingFormatter(LOG_FORMAT).format(record("refused webhook %s %s", "POST", FORGED))
    assert "\n" not in line
    assert line.endswith("refused webhook POST x\\n2026-12-07 16:59:59,000 ERROR web.app: FORGED")


@pytest.mark.parametrize("control", ["\r", "\x1b[31m", "\x00", "\x85", "\u2028", "\t", "\x7f"])
def test_every_control_character_and_line_break_is_escaped(control: str) -> None:
    escaped = escape_controls(f"a{control}b")
    assert escaped.startswith("a\\") and escaped.endswith("b")
    assert escaped.isprintable()


def test_korean_text_is_left_as_it_is() -> None:
    assert escape_controls("안녕하세요 +82 ①") == "안녕하세요 +82 ①"


def test_a_traceback_keeps_its_lines_but_not_a_forged_one_from_its_message() -> None:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValueError(f"bad value {FORGED}") from inner
    except ValueError:
        line = EscapingFormatter(LOG_FORMAT).format(record("webhook failed", exc=True))
    lines = line.splitlines()
    assert lines[1] == "Traceback (most recent call last):"
    assert any(text.startswith("  File ") for text in lines)
    assert "ValueError: bad value x\\n2026-12-07 16:59:59,000 ERROR web.app: FORGED" in lines
    assert not any(text.startswith(FORGED.split("\n")[1]) for text in lines)


@pytest.fixture
def scheduler_levels() -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_cli_s_logging_quiets_apscheduler_but_keeps_its_failures(
    scheduler_levels: None,
) -> None:
    configure("INFO")
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.INFO), name
        assert logger.isEnabledFor(logging.WARNING), name
        assert logger.isEnabledFor(logging.ERROR), name
