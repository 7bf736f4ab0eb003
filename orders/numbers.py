"""Hub order numbers (BG<yymmdd>-<seq>): each day's sequence is taken atomically, so imports,
after-sales shipments and replicas working at once never hand out one number twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orders.base import table
from orders.db import dialect_insert
from orders.models import OrderCounter

PREFIX = "BG"
COUNTERS = table(OrderCounter)


async def take(s: AsyncSession, day: str, n: int = 1) -> int:
    """Reserve ``n`` numbers of ``day`` (``yymmdd``) and return the last of them (the first is
    that minus ``n - 1``). One upsert: on PostgreSQL it locks the day's counter row until the
    transaction ends, so a concurrent taker waits and then counts on from what was committed; on
    SQLite it takes the write lock. Several days: take them in a fixed (sorted) order."""
    stmt = dialect_insert(s, OrderCounter).values(day=day, last=n)
    stmt = stmt.on_conflict_do_update(index_elements=[COUNTERS.c.day], set_={"last": COUNTERS.c.last + n})
    return int((await s.execute(stmt.returning(COUNTERS.c.last))).scalar_one())


def day_of(local: datetime) -> str:
    """The ``yymmdd`` of a local time (formatted by hand: an import does this per order)."""
    return f"{local.year % 100:02d}{local.month:02d}{local.day:02d}"


def number(day: str, seq: int) -> str:
    return f"{PREFIX}{day}-{seq:04d}"
