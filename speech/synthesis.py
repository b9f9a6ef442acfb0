"""Prompt synthesis: pyttsx3 over espeak-ng in one worker thread, cached as 8 kHz μ-law WAV."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import queue
import re
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Final, Protocol

import pyttsx3

from speech.audio import WavFormatError, to_telephone_wav

logger = logging.getLogger(__name__)

FORMAT_VERSION: Final = "voicedesk-prompt/1 espeak-ng 8kHz-mulaw peak-3dBFS"
"""Hashed into every key: change it whenever the rendering or conversion changes, so files
cached by an older version are never served for the new one."""

SPEECH_RATE_WPM: Final = 150
"""Words/min: espeak-ng's default is 175. Over an 8 kHz μ-law line consonants blur, and callers
must catch option numbers the first time, so prompts are spoken about 15% slower."""

RENDER_TIMEOUT_S: Final = 10.0
"""Seconds: a healthy render takes ~10-50 ms. Past this the engine is taken as hung; the value
stays below Twilio's 15 s webhook timeout so the caller still gets our fallback TwiML."""

DEFAULT_VOICES: Final[Mapping[str, str]] = MappingProxyType({"ko": "ko", "en": "en"})
"""Call language → espeak-ng voice id."""

ENGINE_THREAD_NAME: Final = "voicedesk-tts"

_KEY_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
_ENGINE_DRIVER: Final = "espeak"
_RENDER_ATTEMPTS: Final = 3  # an interrupted utterance is rare once espeak is synchronised
_WAV_HEADER_BYTES: Final = 44  # what pyttsx3 writes for an utterance with no samples


class SynthesisError(Exception):
    """A prompt could not be rendered (engine failure, hang, unusable audio, or closed)."""


class UnknownLanguageError(SynthesisError, LookupError):
    """No voice is configured for the requested language."""


class Synthesizer(Protocol):
    """The port: turns prompt texts into cached telephone audio addressed by key."""

    def key(self, text: str, language: str) -> str:
        """The cache key a prompt has (or will have) once rendered."""
        ...

    async def render(self, text: str, language: str) -> str:
        """Make sure the prompt is cached and return its key."""
        ...

    async def prerender(self, prompts: Iterable[tuple[str, str]]) -> int:
        """Cache every (text, language) prompt; return how many were newly rendered."""
        ...

    async def read(self, key: str) -> bytes | None:
        """The cached 8 kHz μ-law WAV for a key, or None if the key is malformed or unknown."""
        ...

    async def close(self) -> None:
        """Refuse new renders and cancel those in flight."""
        ...


class PromptSynthesizer:
    """Renders prompts with pyttsx3/espeak-ng and caches them on disk as `<key>.wav`."""

    def __init__(self, cache_dir: Path, voices: Mapping[str, str] | None = None) -> None:
        """Create a synthesizer; no I/O happens until the first render.

        Args:
            cache_dir: Where rendered prompts live; created on first render.
            voices: Language → espeak-ng voice, as `espeak-ng -v` takes it (`ko`, `en-us`);
                defaults to `DEFAULT_VOICES`.

        """
        self._cache_dir = Path(cache_dir)
        self._voices = dict(DEFAULT_VOICES if voices is None else voices)
        self._worker = _EngineWorker.shared()
        self._on_disk: set[str] = set()
        self._in_flight: dict[str, asyncio.Task[bool]] = {}
        self._dir_ready = False
        self._closed = False

    def key(self, text: str, language: str) -> str:
        """Content hash of everything that shapes the audio.

        Args:
            text: The prompt text.
            language: The call language, e.g. ``"ko"``.

        Returns:
            64 lowercase hex digits (sha256).

        Raises:
            UnknownLanguageError: No voice is configured for `language`.
            ValueError: The text is empty.

        """
        identity = "\0".join(
            (FORMAT_VERSION, self._voice(language), str(SPEECH_RATE_WPM), _clean(text))
        )
        return hashlib.sha256(identity.encode("utf-8")).hexdigest()

    async def render(self, text: str, language: str) -> str:
        """Make sure the prompt is cached on disk, rendering it at most once.

        Args:
            text: The prompt text.
            language: The call language.

        Returns:
            The key under which `read` serves the prompt.

        Raises:
            SynthesisError: The engine failed, hung, or this synthesizer is closed.
            UnknownLanguageError: No voice is configured for `language`.

        """
        key = self.key(text, language)
        await self._ensure(key, _clean(text), self._voice(language))
        return key

    async def prerender(self, prompts: Iterable[tuple[str, str]]) -> int:
        """Render every prompt not yet cached, e.g. when a menu is published.

        Args:
            prompts: (text, language) pairs; duplicates are fine.

        Returns:
            How many prompts this call rendered (0 when all were cached).

        Raises:
            SynthesisError: A prompt could not be rendered.

        """
        rendered = 0
        # One after another: there is a single engine anyway, and a long menu queued at once
        # would eat into each render's timeout.
        for text, language in prompts:
            key = self.key(text, language)
            rendered += await self._ensure(key, _clean(text), self._voice(language))
        return rendered

    async def read(self, key: str) -> bytes | None:
        """Read a cached prompt off the event loop.

        Args:
            key: A key from `key`/`render`, e.g. taken from a `/prompts/<key>.wav` URL.

        Returns:
            The 8 kHz μ-law WAV file, or None for a malformed key or a prompt not on disk.

        """
        if not _KEY_PATTERN.fullmatch(key):
            return None
        try:
            data = await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            return None
        self._on_disk.add(key)
        return data

    async def close(self) -> None:
        """Refuse new renders and cancel those in flight.

        The engine itself lives on: it is shared by every synthesizer in the process.
        """
        self._closed = True
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _voice(self, language: str) -> str:
        try:
            return self._voices[language]
        except KeyError:
            known = ", ".join(sorted(self._voices)) or "none"
            raise UnknownLanguageError(
                f"no voice for language {language!r} (configured: {known})"
            ) from None

    def _path(self, key: str) -> Path:
        return self._cache_dir / f"{key}.wav"

    async def _ensure(self, key: str, text: str, voice: str) -> bool:
        """Cache one prompt; True only if this call started the render that wrote it."""
        if key in self._on_disk:
            return False
        if self._closed:
            raise SynthesisError("the prompt synthesizer is closed")
        task = self._in_flight.get(key)
        if task is not None:
            await asyncio.shield(task)
            return False
        task = asyncio.create_task(self._render_once(key, text, voice))
        self._in_flight[key] = task
        task.add_done_callback(functools.partial(self._forget, key))
        # Shielded: a caller giving up must not abort a render others are waiting for.
        return await asyncio.shield(task)

    def _forget(self, key: str, task: asyncio.Task[bool]) -> None:
        self._in_flight.pop(key, None)
        if not task.cancelled():
            # Its callers get the exception; this only spares asyncio's "never retrieved"
            # warning when they have all given up.
            task.exception()

    async def _render_once(self, key: str, text: str, voice: str) -> bool:
        path = self._path(key)
        if not self._dir_ready:
            await asyncio.to_thread(self._cache_dir.mkdir, parents=True, exist_ok=True)
            self._dir_ready = True
        if await asyncio.to_thread(path.is_file):
            self._on_disk.add(key)
            return False
        started = time.perf_counter()
        raw = await self._worker.render(text, voice, SPEECH_RATE_WPM, self._cache_dir)
        try:
            audio = await asyncio.to_thread(to_telephone_wav, raw)
        except WavFormatError as err:
            raise SynthesisError(f"espeak-ng returned unusable audio: {err}") from err
        await asyncio.to_thread(_write_atomically, path, audio)
        self._on_disk.add(key)
        elapsed_ms = 1000 * (time.perf_counter() - started)
        logger.info("rendered prompt %s (voice %s) in %.0f ms", key[:12], voice, elapsed_ms)
        return True


@dataclass(slots=True)
class _Job:
    text: str
    voice: str
    rate_wpm: int
    scratch_dir: Path
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bytes]


class _EngineWorker:
    """The process's only pyttsx3 engine, owned and driven by one daemon thread.

    espeak-ng keeps global state: a second engine in the same process makes `runAndWait()`
    hang forever, so this is a process-wide singleton (the one module-level state in voicedesk)
    shared by every `PromptSynthesizer`, whichever event loop it runs on.
    """

    _shared: ClassVar[_EngineWorker | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._busy_since: float | None = None
        self._thread = threading.Thread(target=self._run, name=ENGINE_THREAD_NAME, daemon=True)
        self._thread.start()

    @classmethod
    def shared(cls) -> _EngineWorker:
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


def _write_atomically(path: Path, data: bytes) -> None:
    """Write then rename, so a reader never sees half a prompt, even across a crash."""
    fd, name = tempfile.mkstemp(prefix=f".{path.stem[:12]}-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide prompts from a proxy serving them
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _clean(text: str) -> str:
    """NFC-normalise so the same Korean text typed as composed or decomposed jamo shares a key."""
    cleaned = unicodedata.normalize("NFC", text).strip()
    if not cleaned:
        raise ValueError("prompt text is empty")
    return cleaned
