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
for a writer). A commit or rollback with no transaction open (a read-only session) makes no trip.

In a transaction marked :func:`in_place` (``Database.write_session``: the hot writers, which take turns on
SQLite's one write lock) the whole transaction runs in place: ``BEGIN IMMEDIATE`` is tried on the
loop without waiting (busy timeout 0) and, when another connection holds the write lock, is
waited for on the thread instead; every statement, the commit and the rollback then run on the
loop. The lock is held for the SQL's own time, not for a loop round per statement: with the loop
busy answering messages, each trip's return waited behind the ready tasks (write transactions
held SQLite's lock 10-25 ms for ~1 ms of SQL, and every other writer, the acknowledgements'
inserts among them, queued behind)."""

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
BUSY_TIMEOUT_MS = 10_000  # how long a statement on the thread waits for another connection's lock


@sync_contextmanager
def inline_reads() -> Iterator[None]:
    """SELECTs in this block (this task) run on the event loop, without a trip to the thread."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


def reading_inline() -> bool:
    """Whether this task is inside :func:`inline_reads`."""
    return _INLINE.get()


def raw_connection(conn: aiosqlite.Connection) -> sqlite3.Connection:
    """The sqlite3 connection behind ``conn`` (for work in place: the write turn's BEGIN,
    orders.fast_reads)."""
    raw: sqlite3.Connection = conn._conn
    return raw


def in_place(conn: object) -> None:
    """Run ``conn``'s next transaction in place, from ``BEGIN IMMEDIATE`` to the commit or
    rollback that ends it. For short transactions that always write; never a long one."""
    if not isinstance(conn, OneTripConnection):
        raise TypeError(f"not a connection of this driver: {type(conn).__name__}")
    conn.in_place = True


async def _begin_immediate(conn: aiosqlite.Connection) -> None:
    """Take SQLite's write lock for an in-place transaction: at once when it is free, else by
    waiting on the thread (with the busy timeout), so the loop never waits for another writer."""
    raw = raw_connection(conn)
    if raw.in_transaction:
        return
    raw.execute("PRAGMA busy_timeout=0")
    try:
        raw.execute("BEGIN IMMEDIATE")
        return
    except sqlite3.OperationalError as e:
        if e.sqlite_errorcode != sqlite3.SQLITE_BUSY:
            raise
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    await conn._execute(raw.execute, "BEGIN IMMEDIATE")


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


class OneTripCursor(aiosqlite.Cursor):
    _conn: OneTripConnection
    _rows: list[Any] | None = None  # the last statement's rows, fetched with it

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        cur = self._cursor

        def run() -> list[Any] | None:
            cur.execute(sql, [] if parameters is None else parameters)
            return cur.fetchall() if cur.description is not None else None

        if self._conn.in_place and not sql.startswith("PRAGMA"):  # a new connection's set-up: as usual
            await _begin_immediate(self._conn)
            self._rows = run()
        else:
            self._rows = run() if _INLINE.get() and _is_read(sql) else await self._execute(run)
        return self

    async def executemany(self, sql: str, parameters: Any) -> OneTripCursor:
        if not self._conn.in_place:
            await super().executemany(sql, parameters)
            return self
        await _begin_immediate(self._conn)
        self._rows = None
        self._cursor.executemany(sql, parameters)
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
    in_place = False  # this transaction runs on the event loop (see in_place())

    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        return OneTripCursor(self, self._conn.cursor())

    async def commit(self) -> None:
        here, self.in_place = self.in_place, False  # the transaction ends: in place no more
        if not self._conn.in_transaction:  # nothing to commit (the sqlite3 module opens one at a write)
            return
        if here:
            self._conn.commit()
        else:
            await super().commit()

    async def rollback(self) -> None:
        here, self.in_place = self.in_place, False
        if not self._conn.in_transaction:
            return
        if here:
            self._conn.rollback()
        else:
            await super().rollback()


async def connect(path: str) -> aiosqlite.Connection:
    """For ``create_async_engine(..., async_creator=partial(connect, path))``."""
    conn = OneTripConnection(partial(sqlite3.connect, path, check_same_thread=False), 64)
    conn._thread.daemon = True  # as SQLAlchemy does: a forgotten connection never holds the process
    return await conn
