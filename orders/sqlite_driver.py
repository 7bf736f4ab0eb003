"""aiosqlite with one trip to the connection's thread per statement.

SQLAlchemy's aiosqlite adapter makes four trips for a query (create the cursor, execute, fetch
the rows, close the cursor), each a hand-over to aiosqlite's thread and back to the event loop:
~250 µs of CPU for a one-row primary-key select that costs ~30 µs in SQLite itself. Here the
cursor is created and closed in place (nothing to wait for; the connection is opened with
``check_same_thread=False``, as SQLAlchemy opens it) and a statement's rows come back with its
execution, so a query is one trip (~135 µs). The SQL runs on aiosqlite's thread, so a slow query
or a lock wait never blocks the event loop, except inside :func:`inline_reads`: there a SELECT
runs in place, on the event loop (no trip at all), for reads that are small by construction (a
key lookup, an indexed search with a LIMIT: tens of µs in SQLite; in WAL mode a read never waits
for a writer). A commit or rollback with no transaction open (a read-only session) makes no trip."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager as sync_contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

_INLINE: ContextVar[bool] = ContextVar("orderbot_inline_reads", default=False)


@sync_contextmanager
def inline_reads() -> Iterator[None]:
    """SELECTs in this block (this task) run on the event loop, without a trip to the thread."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


class OneTripCursor(aiosqlite.Cursor):
    _rows: list[Any] | None = None  # the last statement's rows, fetched with it

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        cur = self._cursor

        def run() -> list[Any] | None:
            cur.execute(sql, [] if parameters is None else parameters)
            return cur.fetchall() if cur.description is not None else None

        self._rows = run() if _INLINE.get() and _is_read(sql) else await self._execute(run)
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, None
        return rows if rows is not None else list(await super().fetchall())

    async def fetchone(self) -> Any:
        if self._rows is None:
            return await super().fetchone()
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if self._rows is None:
            return list(await super().fetchmany(size))
        n = size or self._cursor.arraysize
        out, self._rows = self._rows[:n], self._rows[n:]
        return out

    async def close(self) -> None:
        self._rows = None
        self._cursor.close()


class OneTripConnection(aiosqlite.Connection):
    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        return OneTripCursor(self, self._conn.cursor())

    async def commit(self) -> None:
        if self._conn.in_transaction:  # else nothing to commit (the sqlite3 module opens one at a write)
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()


async def connect(path: str) -> aiosqlite.Connection:
    """For ``create_async_engine(..., async_creator=partial(connect, path))``."""
    conn = OneTripConnection(partial(sqlite3.connect, path, check_same_thread=False), 64)
    conn._thread.daemon = True  # as SQLAlchemy does: a forgotten connection never holds the process
    return await conn
