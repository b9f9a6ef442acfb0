"""Line audio as a Vosk model takes it: at the model's rate, with dither that is reproducible."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin, lfilter

from speech.audio import TELEPHONE_RATE

logger = logging.getLogger(__name__)

KALDI_DEFAULT_RATE: Final = 16000
"""Hz: Kaldi's `--sample-frequency` default, which vosk-model-small-ko keeps."""

DITHER_LSB: Final = 4.0
"""Gaussian dither (σ in 16-bit steps, -78 dBFS) added at the model's rate. Kaldi dithers by
default (`--dither=1`) from the C library's shared `rand()`, so the same audio decoded
differently from run to run (one espeak-ng phrase's confidence ranged 0.55–1.0). The model is
loaded with Kaldi's dither off and this seeded dither added instead. Above a phone line's
4 kHz the model sees nothing but dither, and its level matters. Measured on the accuracy dev
grid (menu phrases accepted and right / yes-no / false accepts, at 0.8): Kaldi's own dither
11% / 71% / 2.3% (varying by run); σ 1 → 5.6% / 71% / 1.3%; σ 4 → 11.7% / 74% / 1.7%;
σ 8 → 13.9% / 76% / 1.9%; σ 16 → 16.7% / 69% / 3.1%. σ 4 is the level that reproduces what
Vosk does out of the box. More helped the band-limited corpus but not the simulator's
full-band caller audio (σ 8 lost 상담원 and 상담사 there, which σ 2–4 take at ≥ 0.74), so the
gain is not one to bank on."""

DITHER_SEED: Final = 20240611
"""Every utterance starts the dither from this seed: the same audio always gets the same
transcript and confidence."""

UPSAMPLE_TAPS: Final = 63
UPSAMPLE_CUTOFF_HZ: Final = 3800.0
"""Interpolation filter from 8 to 16 kHz: a phone line carries nothing above 3.4 kHz."""

_RATE_OPTION: Final = re.compile(r"^--sample-frequency=(\d+)", re.MULTILINE)


def model_rate(model_dir: Path) -> int:
    """The sample rate the model's features are computed at (`conf/mfcc.conf`)."""
    conf = model_dir / "conf" / "mfcc.conf"
    text = conf.read_text(encoding="utf-8") if conf.is_file() else ""
    found = _RATE_OPTION.search(text)
    return int(found.group(1)) if found else KALDI_DEFAULT_RATE


@contextmanager
def without_dither(model_dir: Path) -> Iterator[Path]:
    """A stand-in for ``model_dir`` whose feature configuration turns Kaldi's dither off.

    The stand-in is a temporary directory of symbolic links to the model's files with its own
    copy of `conf/`; Vosk reads everything while the model loads, so it is removed on exit.
    Without `conf/mfcc.conf` the model is used as it is (and Kaldi keeps dithering).
    """
    mfcc = model_dir / "conf" / "mfcc.conf"
    if not mfcc.is_file():
        logger.warning("%s has no conf/mfcc.conf: recognition will not be reproducible", model_dir)
        yield model_dir
        return
    with tempfile.TemporaryDirectory(prefix="voicedesk-vosk-") as tmp:
        stand_in = Path(tmp)
        for entry in model_dir.iterdir():
            if entry.name != "conf":
                (stand_in / entry.name).symlink_to(entry.resolve())
        shutil.copytree(model_dir / "conf", stand_in / "conf")
        conf = stand_in / "conf" / "mfcc.conf"
        conf.write_text(conf.read_text(encoding="utf-8").rstrip("\n") + "\n--dither=0\n")
        yield stand_in


class ModelInput:
    """Converts one utterance's 8 kHz line audio, chunk by chunk, into the model's input."""

    def __init__(self, rate: int) -> None:
        """Prepare for a model whose features run at ``rate`` Hz (8 or 16 kHz).

        Raises:
            ValueError: Any other rate.

        """
        if rate not in (TELEPHONE_RATE, 2 * TELEPHONE_RATE):
            raise ValueError(f"models at {rate} Hz are not supported (8000 or 16000)")
        self.rate = rate
        self._taps: npt.NDArray[np.float64] | None = None
        self._state: npt.NDArray[np.float64] | None = None
        if rate != TELEPHONE_RATE:
            self._taps = 2.0 * firwin(UPSAMPLE_TAPS, UPSAMPLE_CUTOFF_HZ, fs=rate)
            self._state = np.zeros(UPSAMPLE_TAPS - 1)
        self._rng = np.random.default_rng(DITHER_SEED)
        self._carry = b""

    def convert(self, pcm16: bytes) -> bytes:
        """The model's 16-bit PCM for the next piece of 8 kHz 16-bit line audio (any length)."""
        data = self._carry + pcm16
        whole = len(data) - len(data) % 2
        self._carry = data[whole:]
        samples = np.frombuffer(data[:whole], dtype="<i2").astype(np.float64)
        if self._taps is not None and self._state is not None:
            stuffed = np.zeros(2 * samples.size)
            stuffed[::2] = samples
            samples, self._state = lfilter(self._taps, 1.0, stuffed, zi=self._state)
        dithered = samples + DITHER_LSB * self._rng.standard_normal(samples.size)
        return np.clip(np.rint(dithered), -32768, 32767).astype("<i2").tobytes()
