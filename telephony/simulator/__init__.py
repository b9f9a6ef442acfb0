"""The offline simulator: plays Twilio's part against a running voicedesk."""

from telephony.simulator.caller import place_call
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.transcript import (
    CallTranscript,
    Dialed,
    Enqueued,
    Gathered,
    GatherPrompt,
    Heard,
    HungUp,
    InputProvider,
    Noted,
    Paused,
    Rejected,
    Requested,
    SeenDocument,
    SimulationError,
    Step,
)
from telephony.simulator.twiml_rules import Document, TwimlNode, TwimlRejected, check_twiml

__all__ = [
    "CallTranscript",
    "CallerConfig",
    "Dialed",
    "Document",
    "Enqueued",
    "GatherPrompt",
    "Gathered",
    "Heard",
    "HungUp",
    "InputProvider",
    "Noted",
    "Paused",
    "Rejected",
    "Requested",
    "SeenDocument",
    "SimulationError",
    "Step",
    "TwimlNode",
    "TwimlRejected",
    "check_twiml",
    "place_call",
]
