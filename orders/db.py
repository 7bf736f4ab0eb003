"""Engine, sessions and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from orders import sqlite_driver
from orders.file_turns import FileTurns

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
E = TypeVar("E")
MIGRATE_LOCK = 0x6F72646572626F74  # "orderbot": the PostgreSQL advisory lock held while migrating
STARTUP_LOCK = MIGRATE_LOCK + 1  # held by a starting process through migrations and first-start seeding


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={sqlite_driver.BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")  # scrubbed/purged personal data is zeroed, not left in free pages
    cur.close()


def dialect_insert(session: AsyncSession, model: Any) -> PgInsert | SqliteInsert:
    """An INSERT with ``on_conflict_do_nothing/do_update`` for the session's database (the two we
    run on: PostgreSQL and SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(model)
    return sqlite_insert(model)


_BUILT: dict[tuple[Callable[[AsyncSession], Any], str], Any] = {}


def built_once(session: AsyncSession, build: Callable[[AsyncSession], E]) -> E:
    """``build(session)``, built once per database kind and kept: a statement compiled once and
    run with new values (building one per call cost several times the SQL on the hot paths)."""
    key = (build, session.get_bind().dialect.name)
    made = _BUILT.get(key)
    if made is None:
        made = _BUILT[key] = build(session)
    return made


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@dataclass
class Turns:
    """This process's write turns on SQLite (``Database.write_session``): how many, and how long
    they were held (in place that is their CPU, plus any wait for a writer that takes no turns,
    e.g. the CLI), for benches and diagnostics."""

    count: int = 0
    held_s: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.held_s += seconds


class Database:
    """One engine and its session factory. ``session()`` is a unit of work (one transaction)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        file = make_url(url).database if self.is_sqlite else None
        file = file if file and file != ":memory:" else None  # a SQLite file (not in memory)
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        elif file:
            kwargs.update(async_creator=partial(sqlite_driver.connect, file))  # one thread trip per statement
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writers = asyncio.Lock() if self.is_sqlite else None
        self._file_turns = FileTurns(Path(f"{file}.writers")) if file else None
        self.turns = Turns()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self._open() as s, s.begin():
            yield s

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[AsyncSession]:
        """A new session, closed on the way out. On a SQLite file the close is awaited in place:
        with the transaction ended, our driver's close makes no trip (nothing can interrupt it),
        where AsyncSession's own exit runs it in a task of its own (cancel-safe for network
        databases), a loop round and ~0.1 ms of CPU per session."""
        if self._file_turns is None:
            async with self.sessions() as s:
                yield s
            return
        s = self.sessions()
        try:
            yield s
        finally:
            await s.close()

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """``session()`` for a transaction that writes. On SQLite this process's hot writers (the
        inbox writer, the inbox processor, the outbox worker) take turns on one asyncio lock instead
        of all polling SQLite's lock: its busy handler sleeps up to 100 ms between tries, and with a
        dozen waiters the lock sat free while they slept (seconds per write under load, then
        "database is locked"). Across processes on one file (``serve --workers``) the same writers
        take turns on a file lock (orders/file_turns.py). Never nest it. On PostgreSQL it is
        ``session()``."""
        if self._writers is None:
            async with self.session() as s:
                yield s
            return
        others = self._file_turns.turn() if self._file_turns else nullcontext()  # the other processes' writers
        # the turn ends at the commit: closing the session afterwards takes a loop round of its own
        async with self._open() as s, self._writers, others:
            start = time.perf_counter()
            try:
                async with s.begin():
                    if self._file_turns:  # our driver (a file): the transaction runs in place, lock to commit
                        sqlite_driver.in_place((await (await s.connection()).get_raw_connection()).driver_connection)
                    yield s
            finally:
                self.turns.add(time.perf_counter() - start)

    @asynccontextmanager
    async def startup(self) -> AsyncIterator[None]:
        """One starting process at a time (PostgreSQL: a session advisory lock) through migrations
        and first-start seeding, so replicas started together on a new database do not race."""
        if self.is_sqlite:
            yield
            return
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql(f"SELECT pg_advisory_lock({STARTUP_LOCK})")
            await conn.commit()
            try:
                yield
            finally:
                try:
                    await conn.exec_driver_sql(f"SELECT pg_advisory_unlock({STARTUP_LOCK})")
                    await conn.commit()
                except BaseException:
                    await conn.invalidate()  # never back to the pool holding the lock
                    raise

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (all heads)."""

        def upgrade(conn: Connection) -> None:
            command.upgrade(alembic_config(conn), "heads")

        async with self.engine.begin() as conn:
            if not self.is_sqlite:  # replicas starting together: one migrates, the others wait, then see head
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATE_LOCK})")
            await conn.run_sync(upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._file_turns is not None:
            self._file_turns.close()
