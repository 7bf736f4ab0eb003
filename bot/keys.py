"""Typed keys for services that later parts put on the App, and the protocols behind them."""

from __future__ import annotations

from typing import Protocol

from orders.app import AppKey


class MediaFetcher(Protocol):
    """Fetches a WeCom media file (voice AMR, image) by media_id. Raises on an API error."""

    async def fetch_media(self, media_id: str) -> bytes: ...


MEDIA_FETCHER: AppKey[MediaFetcher] = AppKey("media_fetcher", MediaFetcher)  # type: ignore[type-abstract]
