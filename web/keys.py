"""Typed keys of the app-wide objects registered on the aiohttp application."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from agents.acd import Acd
from callbacks.dialer import CallbackDialer
from calls.menus import MenuRegistry
from calls.outage import Outages
from calls.service import CallService, Clock
from chat.service import ChatService
from config.settings import Settings
from history.journal import Journal, JournalReplayer
from history.store import SqlHistoryStore
from speech.admission import SpeechAdmission
from speech.listening import SpeechEngine
from speech.synthesis import Synthesizer
from web.throttles import Throttles
from web.voice import VoiceRenderer

SETTINGS: Final = web.AppKey("settings", Settings)
STORE: Final = web.AppKey("store", SqlHistoryStore)
SYNTHESIZER: Final = web.AppKey("synthesizer", Synthesizer)
MENUS: Final = web.AppKey("menus", MenuRegistry)
CALLS: Final = web.AppKey("calls", CallService)
VOICE: Final = web.AppKey("voice", VoiceRenderer)
CLOCK: Final[web.AppKey[Clock]] = web.AppKey("clock")
SPEECH: Final = web.AppKey("speech", SpeechEngine)
ADMISSION: Final = web.AppKey("admission", SpeechAdmission)
ACD: Final = web.AppKey("acd", Acd)
DIALER: Final = web.AppKey("dialer", CallbackDialer)
CHATS: Final = web.AppKey("chats", ChatService)
CHAT_PAGES: Final[web.AppKey[dict[str, bytes]]] = web.AppKey("chat_pages")
"""The chat pages' files, read once at start (they ship with the package)."""
INSTANCE: Final = web.AppKey("instance", str)
"""This instance's name in claims, logs and its journal's file name."""
JOURNAL: Final = web.AppKey("journal", Journal)
OUTAGES: Final = web.AppKey("outages", Outages)
REPLAYER: Final = web.AppKey("replayer", JournalReplayer)
THROTTLES: Final = web.AppKey("throttles", Throttles)
"""The rate limits of this process (``web.throttles``)."""
