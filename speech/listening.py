"""Listening off the event loop: Vosk decodes on worker threads, one utterance at a time.

The process loads one :class:`~speech.recognition.SpeechModel` and keeps a small pool of
decoder threads (Vosk releases the GIL, so they use every core). An :class:`Utterance` buffers
the caller's audio and hands it to the pool in ~100 ms chunks, in order, so that when the
endpointer hears the end of speech only the last chunk and ``FinalResult`` remain to be done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TypeVar, TypeVarTuple

from speech.grammar import Grammar
from speech.recognition import Recognition, SpeechModel, UtteranceRecognizer

log = logging.getLogger(__name__)

T = TypeVar("T")
Args = TypeVarTuple("Args")

DECODER_THREADS: Final = 4
"""Vosk decodes without the GIL: two per core keeps both cores busy while one thread waits."""

CHUNK_BYTES: Final = 1600
"""100 ms of 16-bit PCM at 8 kHz: fewer thread hand-offs than per 20 ms frame, and short
enough that little audio is left to decode when the caller stops."""


class SpeechEngine:
    """The process's speech recognition: one model, one decoder pool."""

    def __init__(self, model: SpeechModel, threads: int = DECODER_THREADS) -> None:
        """Serve utterances from ``model`` on ``threads`` decoder threads."""
        self._model = model
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vosk")

    @classmethod
    async def load(cls, path: Path | None, threads: int = DECODER_THREADS) -> SpeechEngine:
        """Load the Vosk model (1-2 s, off the loop) and start the decoder pool."""
        model = await asyncio.to_thread(SpeechModel.load, path)
        return cls(model, threads)

    @property
    def model(self) -> SpeechModel:
        """The loaded model."""
        return self._model

    def utterance(self, grammar: Grammar) -> Utterance:
        """Start listening for one answer restricted to ``grammar``."""
        return Utterance(self, grammar)

    async def run(self, function: Callable[[*Args], T], *args: *Args) -> T:
        """Run a blocking Vosk call on the decoder pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, function, *args)

    async def close(self) -> None:
        """Stop the decoder pool (after the work already queued) and free the model."""
        await asyncio.to_thread(self.shutdown)

    def shutdown(self) -> None:
        """Blocking :meth:`close`, for code outside an event loop."""
        self._pool.shutdown(wait=True)
        self._model.close()


class Utterance:
    """One answer being decoded: feed audio as it arrives, then ``finish``."""

    def __init__(self, engine: SpeechEngine, grammar: Grammar) -> None:
        """Decode with ``engine`` under ``grammar``; nothing runs until audio arrives."""
        self._engine = engine
        self._grammar = grammar
        self._buffer = bytearray()
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._worker: asyncio.Task[UtteranceRecognizer] | None = None
        self.fed_bytes = 0

    def feed(self, pcm16: bytes) -> None:
        """Queue 8 kHz 16-bit PCM for decoding (never blocks)."""
        self._buffer += pcm16
        self.fed_bytes += len(pcm16)
        if len(self._buffer) >= CHUNK_BYTES:
            self._flush()

    async def finish(self) -> Recognition:
        """Decode what is left and score the result against the grammar."""
        self._flush()
        worker = self._start()
        self._chunks.put_nowait(None)
        recognizer = await worker
        return await self._engine.run(recognizer.finish)

    async def cancel(self) -> None:
        """Stop decoding (the caller hung up or pressed a key instead)."""
        if self._worker is None:
            return
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker

    def _flush(self) -> None:
        if not self._buffer:
            return
        self._start()
        self._chunks.put_nowait(bytes(self._buffer))
        self._buffer.clear()

    def _start(self) -> asyncio.Task[UtteranceRecognizer]:
        if self._worker is None:
            self._worker = asyncio.create_task(self._decode(), name="utterance-decoder")
        return self._worker

    async def _decode(self) -> UtteranceRecognizer:
        made = await self._engine.run(self._engine.model.recognizer, self._grammar)
        while (chunk := await self._chunks.get()) is not None:
            await self._engine.run(made.accept, chunk)
        return made
