"""How Twilio turns the keys a caller presses at a ``<Gather>`` into ``Digits``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyPresses:
    """What a Gather collected from a run of key presses.

    Attributes:
        digits: What Twilio submits as ``Digits`` (the finish key stripped).
        finished_on_key: The finish key that ended the Gather, or "".
        timed_out: True when neither the finish key nor ``numDigits`` ended it, so Twilio
            waited out the timeout after the last key.
        ignored: Keys pressed after the Gather had ended; Twilio discards them.

    """

    digits: str
    finished_on_key: str
    timed_out: bool
    ignored: str


def press_keys(keys: str, *, num_digits: int | None, finish_on_key: str) -> KeyPresses:
    """Feed ``keys`` to a Gather one at a time, as Twilio reads DTMF.

    The finish key ends the Gather and is not part of ``Digits``; reaching ``numDigits``
    ends it at once; otherwise it ends when the timeout passes after the last key.

    Args:
        keys: The keys pressed, in order (may be empty: silence).
        num_digits: The Gather's ``numDigits``, if set.
        finish_on_key: The Gather's ``finishOnKey`` ("" disables it).

    Returns:
        What Twilio would submit.

    """
    digits = ""
    for index, key in enumerate(keys):
        if finish_on_key and key == finish_on_key:
            return KeyPresses(digits, key, timed_out=False, ignored=keys[index + 1 :])
        digits += key
        if num_digits is not None and len(digits) >= num_digits:
            return KeyPresses(digits, "", timed_out=False, ignored=keys[index + 1 :])
    return KeyPresses(digits, "", timed_out=True, ignored="")
