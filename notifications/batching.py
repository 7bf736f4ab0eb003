"""Group commit: concurrent callers queue small writes; one task writes each batch in a single
transaction and tells every caller whether its item went through (the outbox worker's claims and
sent marks: one transaction for many rows instead of one per row)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class GroupCommit(Generic[T, K]):
    """``write(items)`` returns the keys of the items that went through; ``add`` waits for its batch."""

    def __init__(self, write: Callable[[list[T]], Awaitable[set[K]]], key: Callable[[T], K], *,
                 gather: float = 0.01) -> None:
        self._write = write
        self._gather = gather
        self._key = key
        self._queue: list[tuple[T, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None

    async def add(self, item: T) -> bool:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((item, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="group-commit")
        return await fut

    async def _run(self) -> None:
        await asyncio.sleep(self._gather)  # let callers finishing about now join this batch
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                done = await self._write([item for item, _ in batch])
            except Exception as e:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            for item, fut in batch:
                if not fut.done():
                    fut.set_result(self._key(item) in done)
