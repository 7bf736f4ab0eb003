"""orders.sqlite_driver: SQLite through aiosqlite with one thread trip per statement behaves as
aiosqlite does for everything SQLAlchemy asks of it (rows, rowcounts, RETURNING, executemany,
streamed results, errors) on a real file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from orders.db import Database
from orders.sqlite_driver import OneTripConnection, OneTripCursor


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
