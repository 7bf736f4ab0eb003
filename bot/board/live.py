"""Live updates: one poller per process watches two O(1) numbers (the newest timeline row and the
newest outbox row: every processed button, scan, voice report or move writes one of them, in any
process), and tells every open page by Server-Sent Events; a page then refetches its fragment."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from aiohttp_sse import sse_response
from sqlalchemy import func, select

from orders.db import Database
from orders.models import TimelineEvent
from orders.outbox import OutboxMessage

log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self, db: Database, interval: float = 0.2) -> None:
        self.db, self.interval = db, interval
        self.seq = 0
        self._subs: set[asyncio.Queue[int | None]] = set()
        self._task: asyncio.Task[None] | None = None

    async def signature(self) -> tuple[int, int]:
        async with self.db.session() as s:
            row = (await s.execute(select(select(func.max(TimelineEvent.id)).scalar_subquery(),
                                          select(func.max(OutboxMessage.id)).scalar_subquery()))).one()
        return int(row[0] or 0), int(row[1] or 0)

    async def _run(self) -> None:
        last = await self.signature()
        while True:
            await asyncio.sleep(self.interval)
            if not self._subs:
                continue
            try:
                sig = await self.signature()
            except Exception:  # a database hiccup must not end the feed
                log.exception("board change feed: signature query failed")
                continue
            if sig != last:
                last = sig
                self.seq += 1
                for q in list(self._subs):
                    with contextlib.suppress(asyncio.QueueFull):
                        q.put_nowait(self.seq)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="board-change-feed")

    async def stop(self) -> None:
        for q in list(self._subs):  # open pages end their stream
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def subscribe(self) -> asyncio.Queue[int | None]:
        q: asyncio.Queue[int | None] = asyncio.Queue(maxsize=8)
        self._subs.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[int | None]) -> None:
        self._subs.discard(q)

    @property
    def listeners(self) -> int:
        return len(self._subs)


FEED: web.AppKey[ChangeFeed] = web.AppKey("board_feed", ChangeFeed)


async def events(request: web.Request) -> web.StreamResponse:
    """``GET /board/events``: ``change`` events while the page is open (pings keep proxies awake)."""
    feed = request.app[FEED]
    q = feed.subscribe()
    try:
        async with sse_response(request, ping_interval=15) as resp:
            while resp.is_connected():
                seq = await q.get()
                if seq is None:
                    break
                await resp.send(str(seq), event="change")
        return resp
    finally:
        feed.unsubscribe(q)


def install_feed(web_app: web.Application, db: Database) -> None:
    """Put the feed on the web app; its poller runs from start-up to shutdown."""
    web_app[FEED] = feed = ChangeFeed(db)

    async def start(_: web.Application) -> None:
        feed.start()

    async def stop(_: web.Application) -> None:
        await feed.stop()

    web_app.on_startup.append(start)
    web_app.on_shutdown.append(stop)
