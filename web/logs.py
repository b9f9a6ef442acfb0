"""The server's log: one line per record, text from outside escaped, the timer's chatter quieted.

A request path, a header or a form value may hold a line break; written as is, it would start a
line of its own that a reader (or a log shipper) takes for a record we wrote. The formatter
installed here escapes every control character in the formatted message, once, for every
logger (ours, aiohttp's, libraries'), so no call site has to remember to. A traceback keeps its
lines; only the messages of its exceptions, which may quote outside text, are escaped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from types import TracebackType
from typing import Final

from aiohttp.http_exceptions import HttpProcessingError

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

QUIET_LOGGERS: Final = ("apscheduler", "apscheduler.executors.default", "apscheduler.scheduler")
"""APScheduler logs two INFO lines a second per instance (the callback timer's one-second
tick: "Running job", "executed successfully"). At WARNING only missed runs and jobs that raised
(ERROR, with their traceback) are written."""

_ESCAPES: Final = {
    **{code: f"\\x{code:02x}" for code in range(0x20)},
    0x7F: "\\x7f",
    **{code: f"\\x{code:02x}" for code in range(0x80, 0xA0)},
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x2028: "\\u2028",  # line and paragraph separators: line breaks to many readers
    0x2029: "\\u2029",
}
"""Control characters (C0, DEL, C1 — NEL among them) and Unicode line breaks → escapes."""

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def escape_controls(text: str) -> str:
    """``text`` with every control character and line break written as an escape."""
    return text.translate(_ESCAPES)


class EscapingFormatter(logging.Formatter):
    """A formatter whose records are one line each, whatever text they carry."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The record's line, control characters escaped."""
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: ExcInfo | tuple[None, None, None]) -> str:
        """The traceback as Python writes it, with its exceptions' messages escaped."""
        text = super().formatException(ei)
        for error in _chain(ei[1]):
            message = _message_of(error)
            escaped = escape_controls(message)
            if escaped != message:
                text = text.replace(message, escaped)
        return text


class MalformedRequestFilter(logging.Filter):
    """aiohttp's refusal of a malformed request (a 9 KB request line, a broken header) → one line.

    aiohttp answers such a request 400 itself and logs it at ERROR with a traceback, before any
    handler or signature check runs: anyone could fill the log with tracebacks. The client's
    mistake is worth one WARNING line, not a traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a record of a refused malformed request; pass every other record."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "refused a malformed request: %s", (_message_of(error),)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure(level: str) -> None:
    """Log to stderr at ``level`` through :class:`EscapingFormatter`; APScheduler at WARNING.

    Args:
        level: A logging level name (``settings.log_level``).

    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter(LOG_FORMAT))
    handler.addFilter(MalformedRequestFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    """Every exception a traceback of ``error`` may show: causes, contexts, group members."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions


def _message_of(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # a broken __str__: the traceback says so itself
        return ""
