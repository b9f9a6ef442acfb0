"""The process's one pyttsx3 engine (espeak-ng driver), owned by one dedicated worker thread.

Two pyttsx3 engines in one process hang ``runAndWait()`` forever, so there is exactly one, and
only its thread touches it; renders are queued to it and settled on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

import pyttsx3

logger = logging.getLogger(__name__)

RENDER_TIMEOUT_S: Final = 10.0
"""Seconds: a healthy render takes ~10-50 ms. Past this the engine is taken as hung; the value
stays below Twilio's 15 s webhook timeout so the caller still gets our fallback TwiML."""

ENGINE_THREAD_NAME: Final = "voicedesk-tts"

_ENGINE_DRIVER: Final = "espeak"
_RENDER_ATTEMPTS: Final = 3  # an interrupted utterance is rare once espeak is synchronised
_WAV_HEADER_BYTES: Final = 44  # what pyttsx3 writes for an utterance with no samples


class SynthesisError(Exception):
    """A prompt could not be rendered (engine failure, hang, unusable audio, or closed)."""


@dataclass(slots=True)
class _Job:
    text: str
    voice: str
    rate_wpm: int
    scratch_dir: Path
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bytes]


class EngineWorker:
    """The process's only pyttsx3 engine, owned and driven by one daemon thread.

    espeak-ng keeps global state: a second engine in the same process makes `runAndWait()`
    hang forever, so this is a process-wide singleton (the one module-level state in voicedesk)
    shared by every `PromptSynthesizer`, whichever event loop it runs on.
    """

    _shared: ClassVar[EngineWorker | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._busy_since: float | None = None
        self._thread = threading.Thread(target=self._run, name=ENGINE_THREAD_NAME, daemon=True)
        self._thread.start()

    @classmethod
    def shared(cls) -> EngineWorker:
        """The process's worker, started on first use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    async def render(self, text: str, voice: str, rate_wpm: int, scratch_dir: Path) -> bytes:
        """Render one utterance to 22,050 Hz 16-bit PCM WAV bytes.

        Raises:
            SynthesisError: The engine failed, is hung, or did not finish in time.

        """
        busy_since = self._busy_since
        if busy_since is not None and time.monotonic() - busy_since > RENDER_TIMEOUT_S:
            raise SynthesisError("the speech engine is hung on an earlier prompt")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        self._jobs.put(_Job(text, voice, rate_wpm, scratch_dir, loop, future))
        try:
            return await asyncio.wait_for(future, RENDER_TIMEOUT_S)
        except TimeoutError as err:
            raise SynthesisError(
                f"espeak-ng did not render within {RENDER_TIMEOUT_S:g} s (voice {voice})"
            ) from err

    def _run(self) -> None:
        engine = self._start_engine()
        while True:
            job = self._jobs.get()
            if job.future.done():  # its waiter timed out or was cancelled while it queued
                continue
            if isinstance(engine, SynthesisError):
                _settle(job, engine)
                continue
            self._busy_since = time.monotonic()
            try:
                outcome: bytes | SynthesisError = engine.render(job)
            except Exception as err:  # translated once, here at the engine boundary
                outcome = _as_synthesis_error(err, job)
            finally:
                self._busy_since = None
            _settle(job, outcome)

    def _start_engine(self) -> _Engine | SynthesisError:
        self._busy_since = time.monotonic()  # a driver hanging at start-up is hung too
        try:
            return _Engine()
        except Exception as err:  # whatever the driver raises, every job must learn of it
            logger.exception("could not start the pyttsx3/espeak-ng engine")
            return SynthesisError(f"no speech engine: {err}")
        finally:
            self._busy_since = None


class _Engine:
    """The pyttsx3 engine plus the care its espeak driver needs; used only by the worker thread.

    espeak-ng runs asynchronously in this mode and applies `rate` through its command queue,
    while pyttsx3 cancels whatever is still queued when its loop starts, which can cut an
    utterance short (measured without this care, under CPU load: 3 runs in 4 interrupted, most
    losing only their tail, 1 in ~65 with no audio at all). So every run waits for espeak to go
    idle before and after, and a run pyttsx3 reports as interrupted is rendered again.
    """

    def __init__(self) -> None:
        # Imported here, in the worker: loading libespeak-ng can fail, and must fail as a
        # SynthesisError for each render rather than break importing this module.
        from pyttsx3.drivers import _espeak, espeak

        espeak.print = _log_driver_line  # its "Audio saved to …"; see _log_driver_line
        self._synchronize = _espeak.Synchronize  # blocks until espeak-ng is idle
        self._engine: Any = pyttsx3.init(_ENGINE_DRIVER)
        self._errors: list[BaseException] = []
        self._interrupted: list[object] = []
        self._engine.connect("error", lambda name, exception: self._errors.append(exception))
        self._engine.connect(
            "finished-utterance",
            lambda name, completed: None if completed else self._interrupted.append(name),
        )
        # Until its first loop the driver defers commands to it, which is when it cancels a
        # queued `rate`: one empty run leaves it applying commands at once. (It may leave a
        # stale stop flag, which costs the first render one retry. A second empty run would
        # hang: the driver's loop only ends on a stop or a finished utterance.)
        self._engine.runAndWait()
        self._synchronize()

    def render(self, job: _Job) -> bytes:
        """Render one job to WAV bytes via a scratch file, retrying an interrupted utterance."""
        fd, name = tempfile.mkstemp(prefix=".render-", suffix=".wav", dir=job.scratch_dir)
        os.close(fd)
        scratch = Path(name)
        try:
            for attempt in range(1, _RENDER_ATTEMPTS + 1):
                if self._run_once(job, name):
                    return _checked_output(scratch, job)
                logger.warning(
                    "espeak-ng cut a prompt short (attempt %d), rendering again", attempt
                )
            raise SynthesisError(f"espeak-ng kept interrupting {job.text[:40]!r}")
        finally:
            scratch.unlink(missing_ok=True)

    def _run_once(self, job: _Job, filename: str) -> bool:
        """One `save_to_file` + `runAndWait`; False if the utterance was interrupted.

        One file per run: several `save_to_file` before one `runAndWait` keep only the last.
        """
        self._errors.clear()
        self._interrupted.clear()
        self._engine.setProperty("voice", job.voice)
        self._engine.setProperty("rate", job.rate_wpm)
        self._engine.save_to_file(job.text, filename)
        self._synchronize()
        try:
            self._engine.runAndWait()
        except Exception:
            with contextlib.suppress(Exception):
                self._engine.endLoop()  # else every later run says "loop already started"
            raise
        finally:
            self._synchronize()
        if self._errors:
            error = self._errors[0]
            raise SynthesisError(f"espeak-ng rejected the job: {error}") from error
        selected = str(self._engine.getProperty("voice") or "")
        if selected != job.voice and not selected.endswith("/" + job.voice):
            raise SynthesisError(f"espeak-ng spoke with voice {selected!r}, not {job.voice!r}")
        return not self._interrupted


def _checked_output(scratch: Path, job: _Job) -> bytes:
    data = scratch.read_bytes()
    if len(data) <= _WAV_HEADER_BYTES:
        raise SynthesisError(f"espeak-ng produced no audio for {job.text[:40]!r}")
    return data


def _settle(job: _Job, outcome: bytes | SynthesisError) -> None:
    """Hand a job's outcome to the event loop that is waiting for it."""

    def deliver() -> None:
        if job.future.done():
            return
        if isinstance(outcome, SynthesisError):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # that app's (or test's) loop is already closed
        job.loop.call_soon_threadsafe(deliver)


def _as_synthesis_error(err: Exception, job: _Job) -> SynthesisError:
    if isinstance(err, SynthesisError):
        return err
    wrapped = SynthesisError(f"espeak-ng failed (voice {job.voice}): {err}")
    wrapped.__cause__ = err
    return wrapped


def _log_driver_line(*parts: object, **_: object) -> None:
    """Stands in for `print` inside pyttsx3's espeak driver, which prints on every saved file.

    Swapping `sys.stdout` would be process-wide and race with other threads; shadowing `print`
    in that one module only touches the driver, whose other print is on the unused `say()` path.
    """
    logger.debug("pyttsx3: %s", " ".join(map(str, parts)))
