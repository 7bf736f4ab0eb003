"""orders.sqlite_driver: SQLite through aiosqlite with one thread trip per statement behaves as
aiosqlite does for everything SQLAlchemy asks of it (rows, rowcounts, RETURNING, executemany,
streamed results, errors) on a real file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from orders.db import Database
from orders.sqlite_driver import OneTripConnection, OneTripCursor, inline_reads


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    yield database
    await database.dispose()


async def test_statements_rows_counts_and_errors(db: Database) -> None:
    async with db.engine.begin() as c:
        raw = (await c.get_raw_connection()).driver_connection
        assert isinstance(raw, OneTripConnection)
        await c.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
        await c.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": f"v{i}"} for i in range(250)])
        got = await c.execute(text("INSERT INTO t (v) VALUES ('x'), ('y') RETURNING id, v"))
        assert [r.v for r in got.all()] == ["x", "y"]
        upd = await c.execute(text("UPDATE t SET v = v || '!' WHERE id <= 10"))
        assert upd.rowcount == 10
        assert (await c.execute(text("SELECT count(*) FROM t"))).scalar_one() == 252
        assert (await c.execute(text("SELECT v FROM t WHERE id = 0"))).first() is None
    async with db.engine.connect() as c:  # a streamed result comes in chunks, all of it
        stream = await c.stream(text("SELECT id FROM t ORDER BY id"))
        ids = [row.id async for row in stream]
        assert ids == list(range(1, 253))
    with pytest.raises(IntegrityError):
        async with db.engine.begin() as c:
            await c.execute(text("INSERT INTO t (v) VALUES ('x')"))
    async with db.engine.connect() as c:  # the connection went back to the pool usable
        assert (await c.execute(text("SELECT count(*) FROM t"))).scalar_one() == 252


async def test_cursor_fetches_from_the_prefetched_rows(db: Database) -> None:
    async with db.engine.connect() as c:
        raw = (await c.get_raw_connection()).driver_connection
        assert isinstance(raw, OneTripConnection)
        async with raw.cursor() as cur:
            assert isinstance(cur, OneTripCursor)
            await cur.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
            assert await cur.fetchone() == (1,)
            assert await cur.fetchmany(1) == [(2,)]
            assert await cur.fetchall() == [(3,)]
            assert await cur.fetchall() == []


async def test_inline_reads_run_on_the_event_loop_and_writes_never_do(db: Database) -> None:
    """Inside inline_reads a SELECT runs in place (the event loop's thread); outside, and for any
    write inside, on aiosqlite's thread. A read-only transaction's commit makes no trip."""
    seen: list[int] = []
    async with db.engine.begin() as c:
        raw = (await c.get_raw_connection()).driver_connection
        await raw.create_function("where_am_i", 0, lambda: seen.append(threading.get_ident()) or 1)
        await c.execute(text("CREATE TABLE w (v INTEGER)"))
    loop_thread = threading.get_ident()
    async with db.engine.connect() as c:
        await c.execute(text("SELECT where_am_i()"))
        with inline_reads():
            await c.execute(text("SELECT where_am_i()"))
            await c.execute(text("INSERT INTO w (v) SELECT where_am_i()"))
        await c.commit()
    assert seen[0] != loop_thread and seen[1] == loop_thread and seen[2] != loop_thread
    async with db.engine.connect() as c:
        raw = (await c.get_raw_connection()).driver_connection
        assert isinstance(raw, OneTripConnection)
        trips = 0
        run = raw._execute

        async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal trips
            trips += 1
            return await run(fn, *args, **kwargs)

        raw._execute = counted  # type: ignore[method-assign]
        with inline_reads():
            assert (await c.execute(text("SELECT count(*) FROM w"))).scalar_one() == 1
        await c.commit()
        await c.rollback()
        assert trips == 0  # neither the read nor the empty commit/rollback went to the thread
        await c.execute(text("INSERT INTO w (v) VALUES (2)"))
        await c.commit()
        assert trips == 2  # the write and its commit did
        del raw._execute


async def test_write_sessions_run_in_place_and_wait_for_a_held_lock_off_the_loop(db: Database) -> None:
    """A write_session's statements and commit run on the event loop's thread (no trips); when
    another connection holds SQLite's write lock, the BEGIN waits on the thread while the loop runs
    on, then the write goes through. An error rolls back, and the connection is as usual after."""
    async with db.engine.begin() as c:
        await c.execute(text("CREATE TABLE w (v INTEGER, at INTEGER)"))
    loop_thread = threading.get_ident()
    seen: list[int] = []

    async def write(v: int, fail: bool = False) -> None:
        async with db.write_session() as s:
            raw = (await (await s.connection()).get_raw_connection()).driver_connection
            raw._conn.create_function("where_am_i", 0, lambda: seen.append(threading.get_ident()) or 1)
            await s.execute(text("SELECT where_am_i()"))
            await s.execute(text("INSERT INTO w (v, at) VALUES (:v, where_am_i())"), {"v": v})
            await s.execute(text("INSERT INTO w (v, at) VALUES (:v, where_am_i())"), [{"v": v}, {"v": v}])
            if fail:
                raise RuntimeError("boom")

    await write(1)
    assert seen == [loop_thread] * 4
    with pytest.raises(RuntimeError):
        await write(2, fail=True)
    async with db.session() as s:
        assert (await s.execute(text("SELECT v, count(*) FROM w GROUP BY v"))).all() == [(1, 3)]
        raw = (await (await s.connection()).get_raw_connection()).driver_connection
        assert isinstance(raw, OneTripConnection) and not raw.in_place  # the rollback ended it

    other = sqlite3.connect(str(db.engine.url.database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. the CLI writing: it takes no turns
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    tick = asyncio.ensure_future(ticker())
    asyncio.get_running_loop().call_later(0.3, other.commit)
    seen.clear()
    await write(3)
    tick.cancel()
    other.close()
    assert ticks >= 15  # the loop ran on while the write waited for the lock
    assert seen == [loop_thread] * 4  # and once it had the lock, the statements ran in place
    async with db.session() as s:
        assert (await s.execute(text("SELECT count(*) FROM w WHERE v = 3"))).scalar_one() == 3
    assert db.turns.count == 3 and 0.3 <= db.turns.held_s < 2  # the third turn waited for the other writer


async def test_a_write_cancelled_while_waiting_for_the_lock_leaves_no_lock_behind(db: Database) -> None:
    """The BEGIN waited for on the thread runs on after a cancel; the cancelled write waits for it
    and rolls it back, so the pooled connection never keeps SQLite's write lock."""
    async with db.engine.begin() as c:
        await c.execute(text("CREATE TABLE w (v INTEGER)"))
    other = sqlite3.connect(str(db.engine.url.database), isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with db.write_session() as s:
            await s.execute(text("INSERT INTO w (v) VALUES (1)"))

    task = asyncio.ensure_future(write())
    await asyncio.sleep(0.1)
    task.cancel()
    asyncio.get_running_loop().call_later(0.2, other.commit)
    with pytest.raises(asyncio.CancelledError):
        await task
    other.execute("BEGIN IMMEDIATE")  # free again: nothing of the cancelled write holds it
    other.commit()
    other.close()
    async with db.write_session() as s:  # and the pool's connections work as before
        await s.execute(text("INSERT INTO w (v) VALUES (2)"))
    async with db.session() as s:
        assert (await s.execute(text("SELECT v FROM w"))).scalars().all() == [2]
