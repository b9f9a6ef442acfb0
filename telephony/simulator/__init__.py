"""The offline simulator: plays Twilio's part against a running voicedesk."""

from telephony.simulator.caller import place_call
from telephony.simulator.conversation_webhooks import send_conversation_message
from telephony.simulator.network import Network
from telephony.simulator.phones import Phone, PhoneBook, RestFault
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.rest_record import (
    PlacedCall,
    RecordedRequest,
    SentCallback,
    SentMessage,
    StandInRecord,
)
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.texts import TextReply, send_text
from telephony.simulator.transcript import (
    CallerSpoke,
    CallTranscript,
    Dialed,
    DtmfSent,
    Enqueued,
    Gathered,
    GatherPrompt,
    Heard,
    HungUp,
    InputProvider,
    InputRequest,
    MarkEchoed,
    Noted,
    Paused,
    PlaybackCleared,
    Rejected,
    Requested,
    SeenDocument,
    SimulationError,
    Step,
    StreamClosed,
    StreamHeard,
    StreamOpened,
    StreamPrompt,
)
from telephony.simulator.twiml_rules import Document, TwimlNode, TwimlRejected, check_twiml

__all__ = [
    "CallTranscript",
    "CallerConfig",
    "CallerSpoke",
    "Dialed",
    "Document",
    "DtmfSent",
    "Enqueued",
    "GatherPrompt",
    "Gathered",
    "Heard",
    "HungUp",
    "InputProvider",
    "InputRequest",
    "MarkEchoed",
    "Network",
    "Noted",
    "Paused",
    "Phone",
    "PhoneBook",
    "PlacedCall",
    "PlaybackCleared",
    "RecordedRequest",
    "Rejected",
    "Requested",
    "RestFault",
    "RestStandIn",
    "SeenDocument",
    "SentCallback",
    "SentMessage",
    "SimulationError",
    "StandInRecord",
    "Step",
    "StreamClosed",
    "StreamHeard",
    "StreamOpened",
    "StreamPrompt",
    "TextReply",
    "TwimlNode",
    "TwimlRejected",
    "check_twiml",
    "place_call",
    "send_conversation_message",
    "send_text",
]
