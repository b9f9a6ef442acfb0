"""The TwiML voice vocabulary the simulator knows: elements, their attributes, their nesting.

Names follow Twilio's TwiML voice reference (twilio.com/docs/voice/twiml) and the attribute
lists of ``twilio.twiml.voice_response``; value checks live in ``twiml_values``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from telephony.simulator.twiml_values import (
    BOOLEAN,
    CALL_EVENTS,
    DIAL_TIMEOUT_RANGE,
    HTTP_URL,
    INPUT,
    METHOD,
    NON_NEGATIVE,
    POSITIVE,
    RECORDING_EVENTS,
    STREAM_URL,
    TRIM,
    ValueCheck,
    anything,
    integer,
    keys,
    non_empty,
    one_of,
    queue_name,
    send_digits,
    sip_uri,
    speech_timeout,
    spoken_text,
    wait_url_or_silence,
    words_of,
)

XML_NAMESPACE: Final = "{http://www.w3.org/XML/1998/namespace}"

NOT_MODELLED: Final = frozenset(
    {
        "Pay", "Prompt", "Refer", "Echo", "Sms", "Transcription", "Recording", "Config",
        "ConversationRelay", "Conversation", "VirtualAgent", "Autopilot", "AiSession",
        "ConversationRelaySession", "Application", "WhatsApp", "Sim", "Language",
    }
)  # fmt: skip
"""TwiML that Twilio knows but voicedesk never emits; refused so nobody starts to rely on it."""


class TextRule(Enum):
    """Whether an element may, must or must not hold text."""

    FORBIDDEN = "forbidden"
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True)
class ElementRule:
    """What one TwiML element accepts.

    Attributes:
        attributes: Every attribute it accepts, with the check for its value.
        children: Names of the elements it may contain.
        text: Whether it holds text.
        text_check: Check for its text, when it holds some.

    """

    attributes: Mapping[str, ValueCheck] = field(default_factory=dict)
    children: frozenset[str] = frozenset()
    text: TextRule = TextRule.FORBIDDEN
    text_check: ValueCheck | None = None


_CALLBACKS: Final[Mapping[str, ValueCheck]] = {
    "statusCallbackEvent": CALL_EVENTS,
    "statusCallback": HTTP_URL,
    "statusCallbackMethod": METHOD,
}
_MACHINE_DETECTION: Final[Mapping[str, ValueCheck]] = {
    "machineDetection": one_of("Enable", "DetectMessageEnd"),
    "machineDetectionTimeout": POSITIVE,
    "machineDetectionSpeechThreshold": POSITIVE,
    "machineDetectionSpeechEndThreshold": POSITIVE,
    "machineDetectionSilenceTimeout": POSITIVE,
    "amdStatusCallback": HTTP_URL,
    "amdStatusCallbackMethod": METHOD,
}
_RECORDING_CALLBACKS: Final[Mapping[str, ValueCheck]] = {
    "recordingStatusCallback": HTTP_URL,
    "recordingStatusCallbackMethod": METHOD,
    "recordingStatusCallbackEvent": RECORDING_EVENTS,
}
_PARAMETERS: Final = frozenset({"Parameter"})
_PROMPTS: Final = frozenset({"Say", "Play", "Pause"})

TOP_LEVEL_VERBS: Final = frozenset(
    {
        "Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject", "Dial", "Enqueue",
        "Leave", "Connect", "Record", "Start", "Stop",
    }
)  # fmt: skip

WAIT_URL_VERBS: Final = frozenset({"Play", "Say", "Pause", "Gather", "Redirect", "Hangup", "Leave"})
"""Verbs Twilio runs in an ``<Enqueue waitUrl>`` document."""

_SSML: Final[Mapping[str, Mapping[str, ValueCheck]]] = {
    "break": {"strength": anything, "time": anything},
    "emphasis": {"level": one_of("strong", "moderate", "reduced")},
    "lang": {"xml:lang": anything},
    "p": {},
    "phoneme": {"alphabet": anything, "ph": anything},
    "prosody": {"volume": anything, "rate": anything, "pitch": anything},
    "s": {},
    "say-as": {"interpret-as": anything, "format": anything},
    "sub": {"alias": anything},
    "w": {"role": anything},
}
SSML_NAMES: Final = frozenset(_SSML)


def _ssml_rules() -> dict[str, ElementRule]:
    return {
        name: ElementRule(
            attributes=attributes,
            children=frozenset() if name == "break" else SSML_NAMES - {"p"},
            text=TextRule.FORBIDDEN if name == "break" else TextRule.OPTIONAL,
        )
        for name, attributes in _SSML.items()
    }


_GATHER: Final = ElementRule(
    attributes={
        "action": HTTP_URL,
        "method": METHOD,
        "input": INPUT,
        "timeout": NON_NEGATIVE,
        "speechTimeout": speech_timeout,
        "maxSpeechTime": POSITIVE,
        "profanityFilter": BOOLEAN,
        "finishOnKey": keys(single=True),
        "numDigits": POSITIVE,
        "partialResultCallback": HTTP_URL,
        "partialResultCallbackMethod": METHOD,
        "language": anything,
        "hints": anything,
        "bargeIn": BOOLEAN,
        "debug": BOOLEAN,
        "actionOnEmptyResult": BOOLEAN,
        "speechModel": anything,
        "enhanced": BOOLEAN,
    },
    children=_PROMPTS,
)

_DIAL: Final = ElementRule(
    attributes={
        "action": HTTP_URL,
        "method": METHOD,
        "timeout": integer(*DIAL_TIMEOUT_RANGE),
        "hangupOnStar": BOOLEAN,
        "timeLimit": POSITIVE,
        "callerId": anything,
        "callReason": anything,
        "record": one_of(
            "do-not-record",
            "record-from-answer",
            "record-from-ringing",
            "record-from-answer-dual",
            "record-from-ringing-dual",
            "true",
            "false",
        ),
        "trim": TRIM,
        "recordingTrack": one_of("both", "inbound", "outbound"),
        "recordingConfigurationId": anything,
        "answerOnBridge": BOOLEAN,
        "ringTone": anything,
        "sequential": BOOLEAN,
        "referUrl": HTTP_URL,
        "referMethod": METHOD,
        "events": anything,
        "passports": anything,
        **_RECORDING_CALLBACKS,
    },
    children=frozenset({"Number", "Client", "Queue", "Conference", "Sip"}),
    text=TextRule.OPTIONAL,
)

_CONFERENCE: Final = ElementRule(
    attributes={
        "muted": BOOLEAN,
        "beep": one_of("true", "false", "onEnter", "onExit"),
        "startConferenceOnEnter": BOOLEAN,
        "endConferenceOnExit": BOOLEAN,
        "waitUrl": wait_url_or_silence,
        "waitMethod": METHOD,
        "maxParticipants": integer(2, 250),
        "record": one_of("do-not-record", "record-from-start"),
        "recordingConfigurationId": anything,
        "region": anything,
        "coach": anything,
        "trim": TRIM,
        "eventCallbackUrl": HTTP_URL,
        "jitterBufferSize": one_of("large", "medium", "small", "off"),
        "participantLabel": anything,
        "statusCallbackEvent": words_of(
            "start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"
        ),
        "statusCallback": HTTP_URL,
        "statusCallbackMethod": METHOD,
        **_RECORDING_CALLBACKS,
    },
    text=TextRule.REQUIRED,
    text_check=non_empty,
)

_STREAM: Final = ElementRule(
    attributes={
        "url": STREAM_URL,
        "name": anything,
        "connectorName": anything,
        "track": one_of("inbound_track", "outbound_track", "both_tracks"),
        "statusCallback": HTTP_URL,
        "statusCallbackMethod": METHOD,
        "audioFormat": anything,
        "sampleRate": POSITIVE,
    },
    children=_PARAMETERS,
)

_RECORD: Final = ElementRule(
    attributes={
        "action": HTTP_URL,
        "method": METHOD,
        "timeout": NON_NEGATIVE,
        "finishOnKey": keys(single=False),
        "maxLength": POSITIVE,
        "playBeep": BOOLEAN,
        "trim": TRIM,
        "transcribe": BOOLEAN,
        "transcribeCallback": HTTP_URL,
        "recordingConfigurationId": anything,
        **_RECORDING_CALLBACKS,
    },
)


def _rules() -> dict[str, ElementRule]:
    rules: dict[str, ElementRule] = {
        "Response": ElementRule(children=TOP_LEVEL_VERBS),
        "Say": ElementRule(
            attributes={"voice": anything, "loop": NON_NEGATIVE, "language": anything},
            children=SSML_NAMES,
            text=TextRule.REQUIRED,
            text_check=spoken_text,
        ),
        "Play": ElementRule(
            attributes={"loop": NON_NEGATIVE, "digits": send_digits},
            text=TextRule.OPTIONAL,
            text_check=HTTP_URL,
        ),
        "Pause": ElementRule(attributes={"length": POSITIVE}),
        "Gather": _GATHER,
        "Redirect": ElementRule(
            attributes={"method": METHOD}, text=TextRule.REQUIRED, text_check=HTTP_URL
        ),
        "Hangup": ElementRule(children=_PARAMETERS),
        "Reject": ElementRule(
            attributes={"reason": one_of("rejected", "busy")}, children=_PARAMETERS
        ),
        "Dial": _DIAL,
        "Number": ElementRule(
            attributes={
                "sendDigits": send_digits,
                "url": HTTP_URL,
                "method": METHOD,
                "byoc": anything,
                **_CALLBACKS,
                **_MACHINE_DETECTION,
            },
            text=TextRule.REQUIRED,
            text_check=non_empty,
        ),
        "Client": ElementRule(
            attributes={"url": HTTP_URL, "method": METHOD, **_CALLBACKS},
            children=frozenset({"Identity", "Parameter"}),
            text=TextRule.OPTIONAL,
        ),
        "Identity": ElementRule(text=TextRule.REQUIRED, text_check=non_empty),
        "Queue": ElementRule(
            attributes={
                "url": HTTP_URL,
                "method": METHOD,
                "reservationSid": anything,
                "postWorkActivitySid": anything,
            },
            text=TextRule.REQUIRED,
            text_check=queue_name,
        ),
        "Conference": _CONFERENCE,
        "Sip": ElementRule(
            attributes={
                "username": anything,
                "password": anything,
                "url": HTTP_URL,
                "method": METHOD,
                **_CALLBACKS,
                **_MACHINE_DETECTION,
            },
            text=TextRule.REQUIRED,
            text_check=sip_uri,
        ),
        "Enqueue": ElementRule(
            attributes={
                "action": HTTP_URL,
                "method": METHOD,
                "waitUrl": HTTP_URL,
                "waitUrlMethod": METHOD,
                "workflowSid": anything,
                "maxQueueSize": POSITIVE,
            },
            children=frozenset({"Task"}),
            text=TextRule.OPTIONAL,
            text_check=queue_name,
        ),
        "Task": ElementRule(
            attributes={"priority": NON_NEGATIVE, "timeout": POSITIVE},
            text=TextRule.REQUIRED,
            text_check=non_empty,
        ),
        "Leave": ElementRule(),
        "Connect": ElementRule(
            attributes={"action": HTTP_URL, "method": METHOD},
            children=frozenset({"Stream", "Room"}),
        ),
        "Room": ElementRule(
            attributes={"participantIdentity": anything},
            text=TextRule.REQUIRED,
            text_check=non_empty,
        ),
        "Stream": _STREAM,
        "Parameter": ElementRule(attributes={"name": non_empty, "value": anything}),
        "Record": _RECORD,
        "Start": ElementRule(
            attributes={"action": HTTP_URL, "method": METHOD},
            children=frozenset({"Stream", "Siprec"}),
        ),
        "Stop": ElementRule(children=frozenset({"Stream", "Siprec"})),
        "Siprec": ElementRule(
            attributes={
                "name": anything,
                "connectorName": anything,
                "track": one_of("inbound_track", "outbound_track", "both_tracks"),
                "statusCallback": HTTP_URL,
                "statusCallbackMethod": METHOD,
            },
            children=_PARAMETERS,
        ),
    }
    rules.update(_ssml_rules())
    return rules


RULES: Final[Mapping[str, ElementRule]] = _rules()
"""Every element the simulator accepts, by tag name."""

REQUIRED_ATTRIBUTES: Final[Mapping[str, frozenset[str]]] = {
    "Parameter": frozenset({"name"}),
}
"""Attributes an element cannot do without."""
