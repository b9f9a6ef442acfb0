"""The direct baseline of bench/speech.py: the callers' utterance decoded by Vosk, no server.

The same 8 kHz PCM the callers send (μ-law decoded exactly as the server decodes it) is fed
to grammar recognizers built the way the server builds them (``SpeechModel.recognizer`` with
the main node's Korean phrases), 100 ms per ``accept`` and ``finish`` at the end, one new
recognizer per utterance, on ``threads`` threads for ``seconds``. Vosk decodes without the GIL,
so the threads use every core; the process's CPU time over the audio decoded is the cost of
recognition alone, and the audio decoded per wall-clock second is how many real-time streams
this machine could decode if it did nothing else.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from bench.webhooks import machine_busy_seconds
from speech.grammar import Grammar
from speech.recognition import SpeechModel

CHUNK_BYTES: Final = 1600
"""100 ms of 16-bit PCM at 8 kHz, as the server's decoder threads are fed."""


@dataclass
class DirectResult:
    """What ``threads`` decoder threads did in one timed run."""

    threads: int
    wall_seconds: float
    cpu_seconds: float
    utterances: int
    audio_seconds: float
    machine_busy_seconds: float = 0.0
    transcripts: Counter[str] = field(default_factory=Counter)
    finish_ms: list[float] = field(default_factory=list)

    @property
    def cpu_per_audio_second(self) -> float:
        """CPU seconds spent per second of audio decoded."""
        return self.cpu_seconds / self.audio_seconds if self.audio_seconds else float("nan")

    @property
    def other_load(self) -> float:
        """Cores the rest of the machine kept busy meanwhile (other sessions share it)."""
        return (self.machine_busy_seconds - self.cpu_seconds) / self.wall_seconds

    @property
    def realtime_streams(self) -> float:
        """Seconds of audio decoded per wall-clock second: real-time streams sustained."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds else float("nan")


def decode_once(model: SpeechModel, grammar: Grammar, pcm: bytes) -> tuple[str, float]:
    """One utterance as the server decodes it; (transcript, ms spent in ``finish``)."""
    recognizer = model.recognizer(grammar)
    for start in range(0, len(pcm), CHUNK_BYTES):
        recognizer.accept(pcm[start : start + CHUNK_BYTES])
    began = time.perf_counter()
    recognition = recognizer.finish()
    return recognition.transcript or "", 1000 * (time.perf_counter() - began)


def run(
    model: SpeechModel, grammar: Grammar, pcm: bytes, threads: int, seconds: float
) -> DirectResult:
    """Decode ``pcm`` over and over on ``threads`` threads for ``seconds`` of wall time."""
    audio_seconds = len(pcm) / 2 / 8000
    lock = threading.Lock()
    result = DirectResult(threads, 0.0, 0.0, 0, 0.0)
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            transcript, finish_ms = decode_once(model, grammar, pcm)
            with lock:
                result.utterances += 1
                result.audio_seconds += audio_seconds
                result.transcripts[transcript] += 1
                result.finish_ms.append(finish_ms)

    workers = [threading.Thread(target=worker, name=f"direct-{i}") for i in range(threads)]
    cpu, wall, busy = time.process_time(), time.perf_counter(), machine_busy_seconds()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    result.cpu_seconds = time.process_time() - cpu
    result.wall_seconds = time.perf_counter() - wall
    result.machine_busy_seconds = machine_busy_seconds() - busy
    return result


def baseline(
    pcm: bytes, phrases: tuple[str, ...], thread_counts: list[int], seconds: float
) -> list[DirectResult]:
    """Load the packaged model once and time each thread count after one warm-up decode."""
    model = SpeechModel.load(None)
    try:
        grammar = Grammar(kind="phrases", phrases=phrases, language="ko")
        decode_once(model, grammar, pcm)
        return [run(model, grammar, pcm, threads, seconds) for threads in thread_counts]
    finally:
        model.close()
