"""Deterministic espeak-ng speech over a simulated phone line (8 kHz μ-law, 300–3400 Hz)."""

from __future__ import annotations

import hashlib
import itertools
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfilt

from config.loader import load_menu_file
from config.menu import INPUT_SPEECH, MenuNode
from config.settings import SHIPPED_MENU
from speech.audio import TELEPHONE_RATE, mulaw_decode, mulaw_encode, read_wav_pcm16, resample

LANGUAGE: Final = "ko"

# Telephone channel: a 4th-order Butterworth band-pass (G.712's 300–3400 Hz), speech at
# -20 dBFS RMS, white noise at the SNR mixed in before the band limit (it is the caller's room).
BAND_HZ: Final = (300.0, 3400.0)
SPEECH_RMS_DBFS: Final = -20.0
LEAD_SECONDS: Final = 0.3
TAIL_SECONDS: Final = 0.6

YES_TEXTS: Final = ("예", "네", "맞아요")
NO_TEXTS: Final = ("아니오", "아니요", "아니")
CANONICAL_YES: Final = "예"
CANONICAL_NO: Final = "아니오"

SINO_DIGITS: Final = ("공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
NATIVE_DIGITS: Final = ("공", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")

OUT_OF_GRAMMAR: Final = (
    "오늘 날씨가 정말 좋네요",
    "주소를 변경하고 싶어요",
    "대출 상담을 받고 싶습니다",
    "비밀번호를 잊어버렸어요",
    "영업시간이 어떻게 되나요",
    "포인트는 얼마나 남았나요",
    "환불은 언제 되나요",
    "자동 이체를 신청하려고요",
    "해외에서 카드를 쓰고 싶어요",
    "모르겠어요",
    "여보세요",
    "잠깐만요",
    "음 그게요",
    "연체료가 궁금합니다",
    "새 카드를 발급받고 싶어요",
    "안녕하세요",
    "고맙습니다",
    "계좌 이체 해 주세요",
    "적금 가입하고 싶어요",
    "회원 탈퇴 하려고요",
)
"""Things callers say at a card menu that are none of its options (for false accepts)."""


@dataclass(frozen=True, order=True)
class Voice:
    """An espeak-ng rendering: voice (with variant), speed in words/min, pitch 0–99."""

    name: str
    speed: int
    pitch: int

    @property
    def label(self) -> str:
        """Short name for report tables."""
        return f"{self.name} s{self.speed} p{self.pitch}"


@dataclass(frozen=True, order=True)
class Condition:
    """A voice on a line: clean (``snr_db`` None) or with white noise at ``snr_db``."""

    voice: Voice
    snr_db: float | None

    @property
    def label(self) -> str:
        """Short name for report tables."""
        return f"{self.voice.label} {'clean' if self.snr_db is None else f'{self.snr_db:g}dB'}"


SUITE_VOICES: Final = tuple(
    Voice(name, speed, pitch)
    for name in ("ko", "ko+f3")
    for speed in (140, 180)
    for pitch in (40, 70)
)
"""CI grid: espeak-ng's Korean voice and its f3 variant, two speeds, two pitches."""
SUITE_SNRS: Final = (None, 15.0)

BENCH_VOICES: Final = tuple(
    Voice(name, speed, pitch)
    for name in ("ko", "ko+f3", "ko+m3")
    for speed in (120, 150, 180, 210)
    for pitch in (30, 50, 70)
)
"""bench/accuracy.py's larger grid (not run in CI)."""
BENCH_SNRS: Final = (None, 20.0, 15.0, 10.0)


@dataclass(frozen=True)
class Item:
    """One utterance of the corpus and what the recognizer should make of it.

    ``kind`` is ``phrases``/``digits``/``yes_no`` (in grammar) or ``oog`` (out of grammar);
    ``expected`` the transcript a right answer has (for phrases: any phrase of ``option``).
    """

    kind: str
    text: str
    expected: str
    option: str
    condition: Condition


@dataclass(frozen=True)
class MenuSpeech:
    """The Korean phrases of the shipped menu's speech nodes: option key → phrases."""

    node: str
    options: dict[str, tuple[str, ...]]

    @property
    def phrases(self) -> tuple[str, ...]:
        """Every phrase of the node, in menu order."""
        return tuple(itertools.chain.from_iterable(self.options.values()))

    def option_of(self, phrase: str) -> str:
        """The option key a phrase belongs to ("" if none)."""
        return next((key for key, ps in self.options.items() if phrase in ps), "")


def shipped_speech_nodes() -> list[MenuSpeech]:
    """The speech-enabled menu nodes of the shipped menu with their Korean phrases."""
    menu = load_menu_file(SHIPPED_MENU)
    found = []
    for node in menu.nodes.values():
        if isinstance(node, MenuNode) and INPUT_SPEECH in node.input:
            options = {
                o.key or o.next: o.phrases[LANGUAGE]
                for o in node.options
                if o.phrases.get(LANGUAGE)
            }
            found.append(MenuSpeech(node.id, options))
    return found


def conditions(voices: tuple[Voice, ...], snrs: tuple[float | None, ...]) -> list[Condition]:
    """Every voice on every line."""
    return [Condition(v, s) for v in voices for s in snrs]


def digit_texts(count: int, seed: int) -> list[str]:
    """``count`` 8-digit account numbers read out, alternating Sino-Korean and native words."""
    rng = np.random.default_rng(seed)
    texts = []
    for index in range(count):
        words = SINO_DIGITS if index % 2 == 0 else NATIVE_DIGITS
        texts.append(" ".join(words[int(d)] for d in rng.integers(0, 10, size=8)))
    return texts


def items_for(
    node: MenuSpeech, grid: list[Condition], digits: int, seed: int, oog_share: int = 1
) -> Iterator[Item]:
    """The in-grammar and out-of-grammar utterances of ``node`` under every condition.

    With ``oog_share`` n > 1, each condition gets every n-th out-of-grammar sentence (in turn),
    so that every sentence is still heard in 1/n of the conditions at 1/n of the cost.
    """
    for index, condition in enumerate(grid):
        for phrase in node.phrases:
            yield Item("phrases", phrase, phrase, node.option_of(phrase), condition)
        for text in YES_TEXTS:
            yield Item("yes_no", text, CANONICAL_YES, CANONICAL_YES, condition)
        for text in NO_TEXTS:
            yield Item("yes_no", text, CANONICAL_NO, CANONICAL_NO, condition)
        for text in digit_texts(digits, seed + index):
            yield Item("digits", text, text, text, condition)
        for text in OUT_OF_GRAMMAR[index % oog_share :: oog_share]:
            yield Item("oog", text, "", "", condition)


class SpeechCorpus:
    """Renders items to telephone-line PCM, caching espeak-ng's output under ``cache_dir``."""

    def __init__(self, cache_dir: Path) -> None:
        """Cache rendered speech in ``cache_dir`` (created if missing)."""
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)
        self._band = butter(4, BAND_HZ, btype="bandpass", fs=TELEPHONE_RATE, output="sos")

    def audio(self, text: str, condition: Condition) -> bytes:
        """``text`` in ``condition``'s voice and line: 16-bit PCM at 8 kHz, μ-law round-tripped."""
        speech = self.speech(text, condition.voice)
        seed = int.from_bytes(hashlib.sha256(f"{text}|{condition}".encode()).digest()[:4], "big")
        return telephone_line(speech, condition.snr_db, seed, self._band)

    def speech(self, text: str, voice: Voice) -> npt.NDArray[np.int16]:
        """espeak-ng's rendering of ``text`` resampled to 8 kHz (cached)."""
        key = hashlib.sha256(f"{text}|{voice}".encode()).hexdigest()[:24]
        cached = self.cache_dir / f"{key}.npy"
        if cached.exists():
            loaded: npt.NDArray[np.int16] = np.load(cached)
            return loaded
        rate, pcm = read_wav_pcm16(espeak_wav(text, voice))
        speech = resample(pcm, rate, TELEPHONE_RATE)
        np.save(cached, speech)
        return speech


def espeak_wav(text: str, voice: Voice) -> bytes:
    """The WAV espeak-ng writes for ``text`` (22,050 Hz, 16-bit mono)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(
            [
                *("espeak-ng", "-v", voice.name),
                *("-s", str(voice.speed), "-p", str(voice.pitch)),
                *("-w", str(out), text),
            ],
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


def telephone_line(
    speech: npt.NDArray[np.int16], snr_db: float | None, seed: int, band: npt.NDArray[np.float64]
) -> bytes:
    """Pad, add noise, band-limit, set the level and μ-law code ``speech`` as a phone line does."""
    signal = np.concatenate(
        [
            np.zeros(int(LEAD_SECONDS * TELEPHONE_RATE)),
            speech.astype(np.float64),
            np.zeros(int(TAIL_SECONDS * TELEPHONE_RATE)),
        ]
    )
    active = np.abs(signal) > 0.02 * max(float(np.max(np.abs(signal))), 1.0)
    if snr_db is not None:
        power = float(np.mean(signal[active] ** 2))
        noise = np.random.default_rng(seed).standard_normal(signal.size)
        signal = signal + noise * np.sqrt(power / 10 ** (snr_db / 10))
    signal = sosfilt(band, signal)
    rms = float(np.sqrt(np.mean(signal[active] ** 2))) or 1.0
    signal = signal * (32768 * 10 ** (SPEECH_RMS_DBFS / 20) / rms)
    pcm = np.clip(np.rint(signal), -32768, 32767).astype(np.int16)
    return mulaw_decode(mulaw_encode(pcm)).tobytes()
