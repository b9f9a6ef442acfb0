"""Prompt synthesis: pyttsx3 over espeak-ng in one worker thread, cached as 8 kHz μ-law WAV."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final, Protocol

from speech.audio import WavFormatError, to_telephone_wav
from speech.espeak_worker import EngineWorker, SynthesisError

logger = logging.getLogger(__name__)

FORMAT_VERSION: Final = "voicedesk-prompt/1 espeak-ng 8kHz-mulaw peak-3dBFS"
"""Hashed into every key: change it whenever the rendering or conversion changes, so files
cached by an older version are never served for the new one."""

SPEECH_RATE_WPM: Final = 150
"""Words/min: espeak-ng's default is 175. Over an 8 kHz μ-law line consonants blur, and callers
must catch option numbers the first time, so prompts are spoken about 15% slower."""

DEFAULT_VOICES: Final[Mapping[str, str]] = MappingProxyType({"ko": "ko", "en": "en"})
"""Call language → espeak-ng voice id."""

_KEY_PATTERN: Final = re.compile(r"[0-9a-f]{64}")


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

    def text_of(self, key: str) -> tuple[str, str] | None:
        """The (text, language) this process rendered or looked up under ``key``, if any."""
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
        self._worker = EngineWorker.shared()
        self._on_disk: set[str] = set()
        # Menu texts by key (static content, not per call): lets tools show what a prompt says.
        self._texts: dict[str, tuple[str, str]] = {}
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
        key, _ = await self._cache(text, language)
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
            _, new = await self._cache(text, language)
            rendered += new
        return rendered

    async def _cache(self, text: str, language: str) -> tuple[str, bool]:
        """Cache one prompt; returns its key and whether this call rendered it."""
        key = self.key(text, language)
        cleaned = _clean(text)
        new = await self._ensure(key, cleaned, self._voice(language))
        self._texts[key] = (cleaned, language)
        return key, new

    def text_of(self, key: str) -> tuple[str, str] | None:
        """The (text, language) rendered or prerendered under ``key`` by this synthesizer.

        Args:
            key: A prompt key.

        Returns:
            The prompt's text and language, or None for a key this process has not seen.

        """
        return self._texts.get(key)

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
