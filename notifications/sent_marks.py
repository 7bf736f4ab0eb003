"""Group commit for the outbox's "sent" marks: replies answered by WeCom at about the same time
are marked in one transaction (one SQLite write for a burst instead of one per message). Each
caller returns once its mark is committed, so a row is never reported sent before it is; a crash
before the commit leaves the row "sending", sent again on restart (the documented duplicate)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from orders.app import App
from orders.outbox import mark_many

log = logging.getLogger(__name__)


class SentMarks:
    def __init__(self, app: App) -> None:
        self.app = app
        self._queue: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def mark(self, values: dict[str, Any]) -> None:
        """``orders.outbox.mark_many`` of ``values``, group-committed; returns after commit."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((values, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="outbox-sent-marks")
        await fut

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self.app.db.write_session() as s:  # one executemany
                    await mark_many(s, [v for v, _ in batch])
            except Exception as e:
                log.warning("marking %d outbox rows sent failed: %s", len(batch), e)
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)
