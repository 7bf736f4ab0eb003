"""Group commit for the inbox: concurrent callbacks wait for one shared transaction instead of
queueing for SQLite's single writer one by one (this keeps the acknowledgement fast under load)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from orders import inbox
from orders.app import App

log = logging.getLogger(__name__)
MAX_BATCH = 500


class InboxWriter:
    def __init__(self, app: App) -> None:
        self.app = app
        self._queue: list[tuple[dict[str, Any], asyncio.Future[int | None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def store(self, **values: Any) -> int | None:
        """Store one message (see :func:`inbox.store`); None for a duplicate. Returns after commit."""
        fut: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._queue.append((values, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inbox-writer")
        return await fut

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                async with self.app.db.write_session() as s:
                    ids = await inbox.store_many(s, [v for v, _ in batch])
            except Exception as e:
                log.exception("inbox batch of %d failed", len(batch))
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            seen: set[str] = set()
            for values, fut in batch:  # a key twice in one batch: the first one is new, the rest dups
                key = values["dedupe_key"]
                new = key in ids and key not in seen
                seen.add(key)
                if not fut.done():
                    fut.set_result(ids[key] if new else None)
