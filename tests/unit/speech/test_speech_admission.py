from speech.admission import RESERVATION_SECONDS, SpeechAdmission


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_reservations_beyond_the_limit_are_refused():
    admission = SpeechAdmission(2)
    assert admission.reserve("CA1")
    assert admission.reserve("CA2")
    assert not admission.reserve("CA3")
    assert admission.snapshot().reserved == 2


def test_a_reserved_call_opens_its_session_even_when_full():
    admission = SpeechAdmission(1)
    assert admission.reserve("CA1")
    assert admission.open("CA1")
    assert admission.snapshot().sessions == 1
    assert not admission.reserve("CA2")


def test_a_stream_without_reservation_is_admitted_only_with_room():
    admission = SpeechAdmission(1)
    assert admission.open("CA1")
    assert not admission.open("CA2")
    admission.close("CA1")
    assert admission.open("CA2")


def test_a_second_stream_for_the_same_call_is_refused():
    admission = SpeechAdmission(5)
    assert admission.open("CA1")
    assert not admission.open("CA1")


def test_a_call_in_session_needs_no_new_slot_for_its_next_speech_node():
    admission = SpeechAdmission(1)
    assert admission.open("CA1")
    assert admission.reserve("CA1")
    assert admission.snapshot().reserved == 0


def test_lapsed_reservations_free_their_slot():
    clock = FakeMonotonic()
    admission = SpeechAdmission(1, clock)
    assert admission.reserve("CA1")
    clock.now += RESERVATION_SECONDS + 1
    assert admission.reserve("CA2")
    assert admission.snapshot().reserved == 1


def test_a_limit_of_zero_admits_nobody():
    admission = SpeechAdmission(0)
    assert not admission.reserve("CA1")
    assert not admission.open("CA1")
