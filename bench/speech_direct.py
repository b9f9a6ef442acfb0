"""The direct baseline of bench/speech.py: the callers' utterance decoded by Vosk, no server.

Exactly the 8 kHz PCM the server's recognizer is fed for one utterance of a caller (the
pre-roll before the onset, the utterance, the silence up to the endpointer's decision; see
``SpokenPhrase.decoded_pcm16``) goes to grammar recognizers built the way the server builds
them (``SpeechModel.recognizer`` with the main node's Korean phrases), 100 ms per ``accept``
and ``finish`` at the end, one new recognizer per utterance. Vosk decodes without the GIL, so
threads use every core. Two ways, each for ``seconds``:

- **batch**: ``threads`` threads decode back to back as fast as they can. CPU per second of
  audio is the cost of recognition at its cheapest; audio seconds per wall-clock second is
  what the machine decodes when it does nothing else.
- **paced**: ``streams`` callers in real time, as a server must decode them: each stream's
  100 ms chunk is handed to a pool of ``threads`` threads (the server's ``DECODER_THREADS``)
  when its 100 ms have passed, from one asyncio loop, one utterance after another. No
  websocket, endpointer, database or prompt playback: Vosk alone, at a real-time pace.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

from bench.webhooks import machine_busy_seconds
from speech.grammar import Grammar
from speech.listening import DECODER_THREADS
from speech.recognition import SpeechModel, UtteranceDecoder

CHUNK_BYTES: Final = 1600
"""100 ms of 16-bit PCM at 8 kHz, as the server's decoder threads are fed."""
CHUNK_SECONDS: Final = 0.1


@dataclass
class DirectResult:
    """What one timed run decoded, and what it cost."""

    mode: str
    threads: int
    streams: int
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    utterances: int = 0
    audio_seconds: float = 0.0
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
        """Seconds of audio decoded per wall-clock second."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds else float("nan")

    def add(self, transcript: str, finish_ms: float, audio_seconds: float) -> None:
        """One utterance decoded."""
        self.utterances += 1
        self.audio_seconds += audio_seconds
        self.transcripts[transcript] += 1
        self.finish_ms.append(finish_ms)


class _Clocks:
    """This process's CPU, the wall clock and the machine's busy time, from construction."""

    def __init__(self) -> None:
        self.cpu, self.wall, self.busy = (
            time.process_time(),
            time.perf_counter(),
            machine_busy_seconds(),
        )

    def stop(self, result: DirectResult) -> DirectResult:
        result.cpu_seconds = time.process_time() - self.cpu
        result.wall_seconds = time.perf_counter() - self.wall
        result.machine_busy_seconds = machine_busy_seconds() - self.busy
        return result


def chunks(pcm: bytes) -> list[bytes]:
    """``pcm`` in the server's 100 ms pieces."""
    return [pcm[start : start + CHUNK_BYTES] for start in range(0, len(pcm), CHUNK_BYTES)]


def finish(recognizer: UtteranceDecoder) -> tuple[str, float]:
    """``recognizer.finish()``: (transcript, ms it took)."""
    began = time.perf_counter()
    recognition = recognizer.finish()
    return recognition.transcript or "", 1000 * (time.perf_counter() - began)


def decode_once(model: SpeechModel, grammar: Grammar, pcm: bytes) -> tuple[str, float]:
    """One utterance as the server decodes it; (transcript, ms spent in ``finish``)."""
    recognizer = model.recognizer(grammar)
    for chunk in chunks(pcm):
        recognizer.accept(chunk)
    return finish(recognizer)


def batch(
    model: SpeechModel, grammar: Grammar, pcm: bytes, threads: int, seconds: float
) -> DirectResult:
    """Decode ``pcm`` over and over on ``threads`` threads for ``seconds`` of wall time."""
    audio_seconds = len(pcm) / 2 / 8000
    lock = threading.Lock()
    result = DirectResult("batch", threads, threads)
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            transcript, finish_ms = decode_once(model, grammar, pcm)
            with lock:
                result.add(transcript, finish_ms, audio_seconds)

    workers = [threading.Thread(target=worker, name=f"direct-{i}") for i in range(threads)]
    clocks = _Clocks()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return clocks.stop(result)


async def _paced_stream(
    model: SpeechModel,
    grammar: Grammar,
    pcm: bytes,
    pool: ThreadPoolExecutor,
    start: float,
    until: float,
    result: DirectResult,
) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    while time.monotonic() < until:
        recognizer = await loop.run_in_executor(pool, model.recognizer, grammar)
        began = time.monotonic()
        for index, chunk in enumerate(chunks(pcm)):
            await asyncio.sleep(max(0.0, began + (index + 1) * CHUNK_SECONDS - time.monotonic()))
            await loop.run_in_executor(pool, recognizer.accept, chunk)
        transcript, finish_ms = await loop.run_in_executor(pool, finish, recognizer)
        result.add(transcript, finish_ms, len(pcm) / 2 / 8000)


async def _paced(
    model: SpeechModel, grammar: Grammar, pcm: bytes, streams: int, threads: int, seconds: float
) -> DirectResult:
    result = DirectResult("paced", threads, streams)
    # Streams start spread over one utterance, so their chunks do not arrive in lockstep.
    spread = len(pcm) / 2 / 8000
    begin = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vosk") as pool:
        clocks = _Clocks()
        await asyncio.gather(
            *(
                _paced_stream(
                    model, grammar, pcm, pool, begin + i * spread / streams, begin + seconds, result
                )
                for i in range(streams)
            )
        )
        return clocks.stop(result)


def paced(
    model: SpeechModel,
    grammar: Grammar,
    pcm: bytes,
    streams: int,
    threads: int,
    seconds: float,
) -> DirectResult:
    """``streams`` real-time streams of ``pcm``, one utterance after another, for ``seconds``."""
    return asyncio.run(_paced(model, grammar, pcm, streams, threads, seconds))


def baseline(
    pcm: bytes,
    phrases: tuple[str, ...],
    thread_counts: list[int],
    paced_streams: list[int],
    seconds: float,
) -> list[DirectResult]:
    """Load the packaged model once; batch runs per thread count, then paced runs per N."""
    model = SpeechModel.load(None)
    try:
        grammar = Grammar(kind="phrases", phrases=phrases, language="ko")
        decode_once(model, grammar, pcm)
        results = [batch(model, grammar, pcm, threads, seconds) for threads in thread_counts]
        results += [
            paced(model, grammar, pcm, streams, DECODER_THREADS, seconds)
            for streams in paced_streams
        ]
        return results
    finally:
        model.close()
