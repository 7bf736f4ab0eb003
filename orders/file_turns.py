"""Hot writers of every process on one SQLite file take turns through an advisory lock on a file
beside it (``flock`` on ``<database>.writers``), waited for in a thread: a waiting process wakes
the moment the lock is free, where SQLite's busy handler sleeps up to 100 ms between tries, so
two ``serve --workers`` processes mostly waited on each other instead of working side by side.
Writers that do not take these turns (the CLI, handlers' own transactions) still meet SQLite's
lock as before. The kernel frees the lock of a process that dies."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


class FileTurns:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a descriptor is never shared with another process
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        fd = self._file()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no thread needed
        except BlockingIOError:
            got = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
            try:
                await asyncio.shield(got)
            except asyncio.CancelledError:  # the thread still gets the lock: give it back then
                got.add_done_callback(lambda f: None if f.cancelled() or f.exception() else _unlock(fd))
                raise
        try:
            yield
        finally:
            _unlock(fd)

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def _unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
