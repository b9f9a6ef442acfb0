"""Recognition with the real Vosk Korean model on real espeak-ng speech over a phone line."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.matching import DIGIT_WORDS, spoken_digits
from speech.grammar import (
    Grammar,
    GrammarError,
    Vocabulary,
    compile_grammar,
    phrase_spellings,
)
from speech.recognition import (
    DEFAULT_ACCEPT,
    DEFAULT_CONFIRM,
    Alternative,
    Recognition,
    SpeechModel,
    SpeechModelError,
    score,
)

Speak = Callable[..., bytes]

MAIN_MENU = (
    *("카드 분실", "분실 신고", "도난 신고", "카드를 잃어버렸어요"),
    *("잔액", "잔액 조회", "잔고"),
    *("카드 서비스", "결제일", "이용 한도"),
    *("상담원", "상담원 연결", "상담사"),
    *("다시 듣기", "다시 말해 주세요"),
)
MENU = Grammar.of_phrases(MAIN_MENU, "ko")


def recognize(model: SpeechModel, grammar: Grammar, pcm: bytes, chunk: int = 1600) -> Recognition:
    recognizer = model.recognizer(grammar)
    for offset in range(0, len(pcm), chunk):
        recognizer.accept(pcm[offset : offset + chunk])
    return recognizer.finish()


def test_model_names_its_unknown_word(speech_model: SpeechModel) -> None:
    assert speech_model.unknown_word == "<UNK>"


def test_default_model_is_the_packaged_korean_model() -> None:
    path = SpeechModel.default_path()
    assert path.name == "model"
    assert (path / "graph" / "Gr.fst").is_file()


def test_vocabulary_is_the_models_word_list(speech_model: SpeechModel) -> None:
    compiled = speech_model.compile(Grammar.of_phrases(("이용 한도", "상담원", "한도"), "ko"))
    assert json.loads(compiled.vosk_json) == ["이용한도", "상담원", "<UNK>"]
    assert compiled.unsupported == ("한도",)


def test_phrase_missing_from_the_vocabulary_is_reported_not_silently_dropped(
    speech_model: SpeechModel,
) -> None:
    compiled = speech_model.compile(MENU)
    entries = json.loads(compiled.vosk_json)
    assert speech_model.unsupported_phrases(MENU) == ("카드를 잃어버렸어요",)
    assert not any("잃어버렸" in entry for entry in entries)
    assert entries[-1] == "<UNK>"


def test_phrase_is_also_offered_as_the_single_word_the_model_knows() -> None:
    vocabulary = Vocabulary.of_words(["분실", "신고", "분실신고", "이용", "이용한도", "잔액"])
    assert phrase_spellings("분실 신고", vocabulary) == ("분실신고", "분실 신고")
    assert phrase_spellings("이용 한도", vocabulary) == ("이용한도",)
    assert phrase_spellings("잔액", vocabulary) == ("잔액",)
    assert phrase_spellings("잔액 한도", vocabulary) == ()


def test_phrase_in_decomposed_hangul_is_spelled_like_composed() -> None:
    vocabulary = Vocabulary.of_words(["잔액"])
    decomposed = "\u110c\u1161\u11ab\u110b\u1162\u11a8"  # 잔액 as conjoining jamo (NFD)
    assert phrase_spellings(decomposed, vocabulary) == ("잔액",)


def test_grammar_nothing_of_which_can_be_said_is_refused() -> None:
    vocabulary = Vocabulary.of_words(["잔액", "<UNK>"])
    with pytest.raises(GrammarError, match="phrases"):
        compile_grammar(Grammar.of_phrases(("lost card",), "en"), vocabulary)


def test_phrases_grammar_needs_phrases_and_a_known_kind() -> None:
    with pytest.raises(ValueError, match="at least one phrase"):
        Grammar("phrases", (), "ko")
    with pytest.raises(ValueError, match="kind"):
        Grammar("free_form", ("잔액",), "ko")


def test_grammar_in_another_language_than_the_model_is_refused(
    speech_model: SpeechModel,
) -> None:
    assert speech_model.language == "ko"
    with pytest.raises(GrammarError, match="VOICEDESK_VOSK_MODEL"):
        speech_model.recognizer(Grammar.of_phrases(("lost card", "agent"), "en"))


def test_missing_model_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(SpeechModelError, match=re.escape(str(missing))):
        SpeechModel.load(missing)


def test_model_without_a_runtime_grammar_graph_is_refused(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "HCLG.fst").write_bytes(b"")
    with pytest.raises(SpeechModelError, match="runtime grammar"):
        SpeechModel.load(tmp_path)


def test_phrase_is_heard_and_returned_as_the_menu_writes_it(
    speech_model: SpeechModel, speak: Speak
) -> None:
    heard = recognize(speech_model, MENU, speak("이용 한도", voice="ko+f3"))
    assert heard.heard == "이용한도"
    assert heard.transcript == "이용 한도"
    assert heard.confidence >= DEFAULT_ACCEPT


def test_phrase_is_accepted_on_a_noisy_line(speech_model: SpeechModel, speak: Speak) -> None:
    heard = recognize(speech_model, MENU, speak("상담원", voice="ko+f3", snr_db=20.0))
    assert heard.transcript == "상담원"
    assert heard.confidence >= DEFAULT_ACCEPT


def test_two_word_phrase_is_accepted(speech_model: SpeechModel, speak: Speak) -> None:
    heard = recognize(speech_model, MENU, speak("상담원 연결"))
    assert heard.transcript == "상담원 연결"
    assert heard.confidence >= DEFAULT_ACCEPT


def test_out_of_grammar_sentence_is_not_accepted(speech_model: SpeechModel, speak: Speak) -> None:
    heard = recognize(speech_model, MENU, speak("오늘 날씨가 정말 좋네요"))
    assert heard.transcript == "" or heard.confidence < DEFAULT_CONFIRM


@pytest.mark.parametrize(
    ("said", "answer"), [("네", "예"), ("아니요", "아니오"), ("아니오", "아니오")]
)
def test_yes_no_answers_come_back_canonical(
    speech_model: SpeechModel, speak: Speak, said: str, answer: str
) -> None:
    heard = recognize(speech_model, Grammar.yes_no("ko"), speak(said))
    assert heard.transcript == answer
    assert heard.confidence >= DEFAULT_ACCEPT


def test_digits_come_back_as_digit_words_the_engine_reads(
    speech_model: SpeechModel, speak: Speak
) -> None:
    heard = recognize(speech_model, Grammar.digits("ko"), speak("일 이 삼 사"))
    assert heard.transcript
    assert all(word in DIGIT_WORDS for word in heard.transcript.split())
    assert spoken_digits(heard.transcript) is not None


def test_silence_is_heard_as_nothing(speech_model: SpeechModel) -> None:
    heard = recognize(speech_model, MENU, bytes(16000))
    assert heard == Recognition(transcript="", heard="", confidence=0.0, audio_seconds=1.0)


def test_audio_of_any_chunking_counts_whole_samples(
    speech_model: SpeechModel, speak: Speak
) -> None:
    pcm = speak("상담원 연결", voice="ko+f3")
    recognizer = speech_model.recognizer(MENU)
    for offset in range(0, len(pcm), 777):  # odd sizes: half a sample at each cut
        recognizer.accept(pcm[offset : offset + 777])
    heard = recognizer.finish()
    assert heard.audio_seconds == pytest.approx(len(pcm) / 16000, abs=0.01)


def test_finished_recognizer_refuses_audio_and_repeats_its_result(
    speech_model: SpeechModel, speak: Speak
) -> None:
    recognizer = speech_model.recognizer(Grammar.yes_no("ko"))
    recognizer.accept(speak("네"))
    first = recognizer.finish()
    assert recognizer.finish() is first
    with pytest.raises(SpeechModelError, match="finished"):
        recognizer.accept(bytes(320))


def test_recognizers_on_threads_hear_what_they_hear_alone(
    speech_model: SpeechModel, speak: Speak
) -> None:
    audio = [speak(text, voice="ko+f3") for text in ("이용 한도", "상담원 연결", "잔고", "결제일")]
    alone = [recognize(speech_model, MENU, pcm) for pcm in audio]
    together: list[Recognition | None] = [None] * len(audio)

    def run(index: int) -> None:
        together[index] = recognize(speech_model, MENU, audio[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(audio))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


def test_confidence_is_the_share_of_paths_reading_as_the_phrase() -> None:
    compiled = compile_grammar(MENU, Vocabulary.of_words(["상담원", "연결", "상담사", "<UNK>"]))
    paths = [
        Alternative("상담원 연결", 0.0),
        Alternative("상담원", -1.0),
        Alternative("연결", -2.0),
    ]
    transcript, confidence = score(paths, compiled)
    shares = [1.0, 0.3679, 0.1353]
    assert transcript == "상담원 연결"
    assert confidence == pytest.approx(shares[0] / sum(shares), abs=1e-3)


def test_fragments_and_unknown_words_support_no_phrase() -> None:
    compiled = compile_grammar(MENU, Vocabulary.of_words(["상담원", "연결", "카드", "<UNK>"]))
    paths = [Alternative("연결", 0.0), Alternative("상담원 <UNK>", -0.1), Alternative("", -0.2)]
    assert score(paths, compiled) == ("", 0.0)


def test_runner_up_phrase_is_at_most_half_sure() -> None:
    compiled = compile_grammar(MENU, Vocabulary.of_words(["상담원", "연결", "상담사", "<UNK>"]))
    paths = [Alternative("연결 연결", 0.0), Alternative("상담사", -0.01)]
    transcript, confidence = score(paths, compiled)
    assert transcript == "상담사"
    assert confidence < DEFAULT_CONFIRM
