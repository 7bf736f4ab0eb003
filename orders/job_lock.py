"""One run of a scheduled job at a time across replicas. Every ``serve`` runs the scheduler clock;
what a job does is already claimed row by row (due items, digest/pool markers), so its effect
happens once whoever runs it. On PostgreSQL a job also takes a transaction-scoped advisory lock
named for it, tried without waiting: while one replica runs a job, the others skip that tick
instead of building the same digest or pool three times only to find the marker taken. A crash
releases the lock with the connection; the next tick (any replica) catches up. On SQLite (one
machine, one writer) the job always runs."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orders.db import Database

_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:k)")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_xact_lock`` (the same in every process)."""
    return int.from_bytes(hashlib.sha256(f"orderbot-job:{name}".encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def exclusive(db: Database, name: str) -> AsyncIterator[bool]:
    """Yields True when this process may run job ``name`` now (it holds the lock until the block
    ends), False when another process is running it."""
    if db.is_sqlite:
        yield True
        return
    async with db.engine.connect() as conn:  # one idle transaction holds the lock; rollback frees it
        got = bool(await conn.scalar(_TRY_LOCK, {"k": lock_key(name)}))
        try:
            yield got
        finally:
            await conn.rollback()


async def try_xact_lock(s: AsyncSession, name: str) -> bool:
    """On PostgreSQL, the transaction advisory lock named ``name`` when no other transaction holds
    it (held until this one ends; never waited for); on SQLite True (one writer at a time)."""
    if s.get_bind().dialect.name != "postgresql":
        return True
    return bool(await s.scalar(_TRY_LOCK, {"k": lock_key(name)}))
