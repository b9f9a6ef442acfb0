"""The menus calls are pinned to: the published one, and older versions by checksum."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from config.loader import parse_menu
from config.menu import Menu
from history.store import HistoryStore


class UnknownMenuVersionError(LookupError):
    """A call is pinned to a menu version this database does not have."""


class MenuRegistry:
    """The published menu plus every version calls are pinned to, loaded on demand.

    Menu versions are immutable and identified by checksum, so caching them in memory is safe
    across instances; the database stays the source of truth.
    """

    def __init__(self, store: HistoryStore) -> None:
        """Create an empty registry backed by ``store``."""
        self._store = store
        self._by_checksum: dict[str, Menu] = {}
        self._published: Menu | None = None

    @property
    def published(self) -> Menu:
        """The menu new calls start on."""
        if self._published is None:
            raise UnknownMenuVersionError("no menu has been published")
        return self._published

    async def publish(self, source: Mapping[str, Any], at: datetime) -> Menu:
        """Validate ``source``, store it as a version, and make it the menu new calls get."""
        menu = await _parse(source)
        await self._store.save_menu_version(
            menu_id=menu.id, checksum=menu.checksum, content=source, at=at
        )
        self._by_checksum[menu.checksum] = menu
        self._published = menu
        return menu

    async def pinned(self, checksum: str) -> Menu:
        """The menu version a call was started on."""
        menu = self._by_checksum.get(checksum)
        if menu is not None:
            return menu
        content = await self._store.load_menu_version(checksum)
        if content is None:
            raise UnknownMenuVersionError(f"menu version {checksum[:12]} is not stored")
        menu = await _parse(content)
        self._by_checksum[checksum] = menu
        return menu


async def _parse(source: Mapping[str, Any]) -> Menu:
    # Validation loads time-zone files from disk (zoneinfo): keep it off the event loop.
    return await asyncio.to_thread(parse_menu, source)
