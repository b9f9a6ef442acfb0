"""Speech fixtures: the real Vosk model (loaded once per session) and real espeak-ng speech."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import butter, sosfilt

from speech.audio import TELEPHONE_RATE, mulaw_decode, mulaw_encode, read_wav_pcm16, resample
from speech.recognition import SpeechModel

LEAD_SECONDS = 0.3
TAIL_SECONDS = 0.6
SPEECH_RMS_DBFS = -20.0

Speak = Callable[..., bytes]


@pytest.fixture(scope="session")
def speech_model(pytestconfig: pytest.Config) -> Iterator[SpeechModel]:
    """The packaged Korean model, shared with the accuracy suite when both run (~500 MB)."""
    model: SpeechModel | None = getattr(pytestconfig, "voicedesk_speech_model", None)
    if model is None:
        model = SpeechModel.load()
        pytestconfig.voicedesk_speech_model = model  # type: ignore[attr-defined]
    yield model


@pytest.fixture(scope="session")
def espeak_8k(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., npt.NDArray[np.int16]]:
    """espeak-ng's Korean voice saying a text, resampled to 8 kHz (cached per session)."""
    folder = tmp_path_factory.mktemp("espeak")
    cache: dict[tuple[str, str, int, int], npt.NDArray[np.int16]] = {}

    def render(
        text: str, *, voice: str = "ko", speed: int = 150, pitch: int = 50
    ) -> npt.NDArray[np.int16]:
        key = (text, voice, speed, pitch)
        if key not in cache:
            out = folder / f"{len(cache)}.wav"
            subprocess.run(
                [
                    "espeak-ng",
                    "-v",
                    voice,
                    "-s",
                    str(speed),
                    "-p",
                    str(pitch),
                    "-w",
                    str(out),
                    text,
                ],
                check=True,
                capture_output=True,
            )
            rate, pcm = read_wav_pcm16(out.read_bytes())
            cache[key] = resample(pcm, rate, TELEPHONE_RATE)
        return cache[key]

    return render


@pytest.fixture(scope="session")
def speak(espeak_8k: Callable[..., npt.NDArray[np.int16]]) -> Speak:
    """A text as a telephone line delivers it: 16-bit PCM at 8 kHz after 300–3400 Hz and μ-law.

    Keyword arguments: ``voice``, ``speed``, ``pitch`` (espeak-ng), ``snr_db`` (white noise,
    None for a clean line), ``lead``/``tail`` (seconds of line before and after the speech).
    """
    band = butter(4, (300.0, 3400.0), btype="bandpass", fs=TELEPHONE_RATE, output="sos")

    def line(
        text: str,
        *,
        snr_db: float | None = None,
        lead: float = LEAD_SECONDS,
        tail: float = TAIL_SECONDS,
        **voice: str | int,
    ) -> bytes:
        speech = espeak_8k(text, **voice).astype(np.float64)
        signal = np.concatenate(
            [np.zeros(int(lead * TELEPHONE_RATE)), speech, np.zeros(int(tail * TELEPHONE_RATE))]
        )
        active = np.abs(signal) > 0.02 * float(np.max(np.abs(signal)))
        if snr_db is not None:
            power = float(np.mean(signal[active] ** 2))
            noise = np.random.default_rng(len(text)).standard_normal(signal.size)
            signal = signal + noise * np.sqrt(power / 10 ** (snr_db / 10))
        signal = sosfilt(band, signal)
        signal *= (
            32768 * 10 ** (SPEECH_RMS_DBFS / 20) / float(np.sqrt(np.mean(signal[active] ** 2)))
        )
        pcm = np.clip(np.rint(signal), -32768, 32767).astype(np.int16)
        return mulaw_decode(mulaw_encode(pcm)).tobytes()

    return line
