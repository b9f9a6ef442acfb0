"""Prompt synthesis with the real pyttsx3/espeak-ng engine and the real on-disk cache."""

from __future__ import annotations

import asyncio
import threading
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from speech.audio import mulaw_decode, parse_wav_header, to_telephone_wav
from speech.espeak_worker import ENGINE_THREAD_NAME
from speech.synthesis import (
    SPEECH_RATE_WPM,
    PromptSynthesizer,
    SynthesisError,
    UnknownLanguageError,
)

# Digits tell the voices apart: espeak-ng's English voice reads Hangul with Korean rules
# but says "one", "seventeen" where the Korean voice says "일", "십칠".
KOREAN_PROMPT = "상담원 연결은 1번, 현재 대기 고객은 17명, 예상 대기 시간은 25분입니다."
ENGLISH_PROMPT = "For an agent, press 1. To book a callback, press 2."


@pytest.fixture
async def synthesizer(tmp_path: Path) -> AsyncIterator[PromptSynthesizer]:
    synth = PromptSynthesizer(tmp_path / "prompts")
    yield synth
    await synth.close()


async def rendered_audio(synth: PromptSynthesizer, text: str, language: str) -> bytes:
    data = await synth.read(await synth.render(text, language))
    assert data is not None
    return data


def samples(wav: bytes) -> npt.NDArray[np.float64]:
    info = parse_wav_header(wav)
    payload = wav[info.data_offset : info.data_offset + info.data_bytes]
    return mulaw_decode(payload).astype(np.float64)


async def espeak_cli(text: str, voice: str) -> npt.NDArray[np.float64]:
    process = await asyncio.create_subprocess_exec(
        "espeak-ng",
        "-v",
        voice,
        "-s",
        str(SPEECH_RATE_WPM),
        "--stdout",
        text,
        stdout=asyncio.subprocess.PIPE,
    )
    wav, _ = await process.communicate()
    assert process.returncode == 0
    return samples(await asyncio.to_thread(to_telephone_wav, wav))


def envelope_similarity(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """Peak normalised cross-correlation of 10 ms log-energy envelopes (1.0 = same speech)."""

    def envelope(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        frames = x[: x.size // 80 * 80].reshape(-1, 80)
        energy: npt.NDArray[np.float64] = np.log10(np.mean(frames**2, axis=1) + 1e3)
        normalised: npt.NDArray[np.float64] = (energy - energy.mean()) / energy.std()
        return normalised

    ea, eb = envelope(a), envelope(b)
    return float(np.correlate(ea, eb, mode="full").max() / min(ea.size, eb.size))


def assert_telephone_speech(wav: bytes, min_seconds: float) -> None:
    assert wav[:4] == b"RIFF"
    assert wav[8:12] == b"WAVE"
    info = parse_wav_header(wav)
    assert (info.format_tag, info.channels, info.sample_rate, info.bits_per_sample) == (
        7,
        1,
        8000,
        8,
    )
    assert info.duration_seconds > min_seconds
    rms = np.sqrt(np.mean(samples(wav) ** 2))
    assert rms > 1000, "the prompt is (nearly) silent"


async def test_korean_prompt_is_spoken_by_the_korean_voice(
    synthesizer: PromptSynthesizer,
) -> None:
    wav = await rendered_audio(synthesizer, KOREAN_PROMPT, "ko")

    assert_telephone_speech(wav, min_seconds=3.0)
    spoken = samples(wav)
    korean = envelope_similarity(spoken, await espeak_cli(KOREAN_PROMPT, "ko"))
    english = envelope_similarity(spoken, await espeak_cli(KOREAN_PROMPT, "en"))
    assert korean > 0.8  # not 1.0: in-process espeak-ng may hold a pause ~40 ms longer
    assert korean > english + 0.2


async def test_english_prompt_is_spoken_by_the_english_voice(
    synthesizer: PromptSynthesizer,
) -> None:
    wav = await rendered_audio(synthesizer, ENGLISH_PROMPT, "en")

    assert_telephone_speech(wav, min_seconds=2.0)
    assert envelope_similarity(samples(wav), await espeak_cli(ENGLISH_PROMPT, "en")) > 0.8


async def test_prerender_renders_only_what_is_not_cached(tmp_path: Path) -> None:
    prompts = [(KOREAN_PROMPT, "ko"), (ENGLISH_PROMPT, "en"), (KOREAN_PROMPT, "ko")]
    first = PromptSynthesizer(tmp_path)
    try:
        assert await first.prerender(prompts) == 2
        assert await first.prerender(prompts) == 0
    finally:
        await first.close()
    # A restarted process finds the prompts on disk.
    second = PromptSynthesizer(tmp_path)
    try:
        assert await second.prerender(prompts) == 0
    finally:
        await second.close()


async def test_concurrent_renders_of_one_prompt_render_it_once(
    synthesizer: PromptSynthesizer, tmp_path: Path
) -> None:
    text = "잠시만 기다려 주십시오."

    counts = await asyncio.gather(*(synthesizer.prerender([(text, "ko")]) for _ in range(5)))
    keys = await asyncio.gather(*(synthesizer.render(text, "ko") for _ in range(5)))

    assert sorted(counts) == [0, 0, 0, 0, 1]
    assert set(keys) == {synthesizer.key(text, "ko")}
    files = await asyncio.to_thread(
        lambda: sorted(f.name for f in (tmp_path / "prompts").iterdir())
    )
    assert files == [f"{keys[0]}.wav"], "one prompt, and no scratch files left behind"


async def test_two_synthesizers_in_one_process_share_one_engine(tmp_path: Path) -> None:
    first = PromptSynthesizer(tmp_path / "a")
    second = PromptSynthesizer(tmp_path / "b")
    try:
        results = await asyncio.gather(
            rendered_audio(first, "첫 번째 안내입니다.", "ko"),
            rendered_audio(second, "This is the second app.", "en"),
            rendered_audio(first, "Back to the first app.", "en"),
            rendered_audio(second, "두 번째 안내입니다.", "ko"),
        )
    finally:
        await first.close()
        await second.close()

    for wav in results:
        assert_telephone_speech(wav, min_seconds=0.5)
    engine_threads = [t for t in threading.enumerate() if t.name == ENGINE_THREAD_NAME]
    assert len(engine_threads) == 1


def test_key_is_a_sha256_of_voice_and_text(tmp_path: Path) -> None:
    synth = PromptSynthesizer(tmp_path)
    decomposed = unicodedata.normalize("NFD", "안녕하세요")

    key = synth.key("안녕하세요", "ko")

    assert len(key) == 64
    assert key == key.lower()
    int(key, 16)
    assert synth.key(decomposed, "ko") == key
    assert synth.key(" 안녕하세요\n", "ko") == key
    assert synth.key("안녕하세요.", "ko") != key
    assert PromptSynthesizer(tmp_path, voices={"ko": "en"}).key("안녕하세요", "ko") != key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../../../../etc/passwd",
        "a" * 63,
        "a" * 65,
        "A" * 64,
        "g" * 64,
        "a" * 60 + ".wav",
        "a" * 63 + "/",
        "a" * 64 + ".wav",
    ],
)
async def test_read_refuses_malformed_keys(synthesizer: PromptSynthesizer, key: str) -> None:
    assert await synthesizer.read(key) is None


async def test_read_returns_none_for_an_unknown_prompt(synthesizer: PromptSynthesizer) -> None:
    assert await synthesizer.read(synthesizer.key("아직 없는 안내", "ko")) is None


async def test_unknown_language_is_refused_by_name(synthesizer: PromptSynthesizer) -> None:
    with pytest.raises(UnknownLanguageError, match=r"'fr'.*configured: en, ko"):
        await synthesizer.render("Bonjour", "fr")
    with pytest.raises(UnknownLanguageError):
        synthesizer.key("Bonjour", "fr")


async def test_empty_prompt_is_refused(synthesizer: PromptSynthesizer) -> None:
    with pytest.raises(ValueError, match="empty"):
        await synthesizer.render("  \n", "ko")


async def test_voice_espeak_does_not_have_fails_cleanly_and_engine_survives(
    tmp_path: Path,
) -> None:
    synth = PromptSynthesizer(tmp_path, voices={"xx": "no-such-voice", "ko": "ko"})
    try:
        with pytest.raises(SynthesisError, match="no-such-voice"):
            await synth.render("Hello", "xx")
        wav = await rendered_audio(synth, "엔진은 계속 동작합니다.", "ko")
    finally:
        await synth.close()

    assert_telephone_speech(wav, min_seconds=0.5)


async def test_closed_synthesizer_refuses_to_render(tmp_path: Path) -> None:
    synth = PromptSynthesizer(tmp_path)
    await synth.close()

    with pytest.raises(SynthesisError, match="closed"):
        await synth.render("닫혔습니다.", "ko")
