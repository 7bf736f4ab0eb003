"""Version counters behind the in-process caches (users with their roles, the workflow in force).

One ``cache_versions`` row per cached thing, bumped by a database trigger on every change to its
table (migration 0024: any process, the CLI, chat admin commands, even hand-written SQL). A process
reads the counters once per batch of messages (:func:`read`, one small query) and drops what it
cached when a counter moved, so an admin change made through another process is seen by the next
batch. Outside a batch (console, CLI) every message reads them itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base, table
from orders.db import Database
from orders.models import User
from orders.sqlite_driver import inline_reads
from orders.users import get_user

MAX_USERS = 20_000  # more cached than this: start over (memory stays bounded)


class CacheVersion(Base):
    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


Versions = dict[str, int]
_batch: ContextVar[Versions | None] = ContextVar("orderbot_batch_versions", default=None)


_TABLE = table(CacheVersion)
_READ = select(_TABLE.c.name, _TABLE.c.version)


async def read(s: AsyncSession) -> Versions:
    return {n: v for n, v in (await (await s.connection()).execute(_READ)).all()}


@contextmanager
def batch(versions: Versions | None) -> Iterator[None]:
    """Within this block the counters read at the batch's start stand (None: read them again)."""
    token = _batch.set(versions)
    try:
        yield
    finally:
        _batch.reset(token)


def of_batch() -> Versions | None:
    return _batch.get()


async def current(s: AsyncSession) -> Versions:
    """The batch's counters, or freshly read ones outside a batch."""
    v = _batch.get()
    return v if v is not None else await read(s)


class UserCache:
    """Active users by id (None for unknown or inactive), valid while the ``users`` counter stands.
    Cached rows are detached; handlers only read them."""

    def __init__(self) -> None:
        self._seen: int | None = None
        self._gen = 0  # bumped by every clear: a load that straddles one is not kept
        self._users: dict[str, User | None] = {}

    async def get(self, db: Database, user_id: str) -> User | None:
        """The user, from the cache when the batch's counters say it holds (no session at all:
        opening and closing one cost ~0.1 ms, on every message)."""
        v = _batch.get()
        if v is not None and self._seen is not None and v.get("users") == self._seen and user_id in self._users:
            return self._users[user_id]
        with inline_reads():  # a one-row table and a primary key: small reads, on the event loop
            async with db.session() as s:
                return await self._get(s, user_id)

    async def _get(self, s: AsyncSession, user_id: str) -> User | None:
        seen = (await current(s)).get("users")
        if seen is None or seen != self._seen or len(self._users) > MAX_USERS:
            self._users.clear()
            self._seen = seen
            self._gen += 1
        if user_id in self._users:
            return self._users[user_id]
        gen = self._gen
        user = await get_user(s, user_id)
        if seen is not None and gen == self._gen:
            self._users[user_id] = user
        return user
