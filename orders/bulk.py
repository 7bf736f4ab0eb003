"""Fast bulk inserts for SQLite: one driver-level ``executemany`` per table with the values
already run through each column type's bind processor (what Core would do, minus its per-row
bookkeeping). Other databases use Core ``insert()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

Plan = tuple[str, list[str], list[Callable[[Any], Any] | None], dict[str, Any]]
_CACHE: dict[tuple[str, str], Plan] = {}


def _plan(table: Table, dialect: Dialect) -> Plan:
    key = (table.name, dialect.name)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    cols = list(table.columns)
    names = [c.name for c in cols]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    procs: list[Callable[[Any], Any] | None] = [c.type._cached_bind_processor(dialect) for c in cols]
    defaults = {c.name: getattr(c.default, "arg", None) if c.default is not None and c.default.is_scalar else None
                for c in cols}
    plan: Plan = (sql, names, procs, defaults)
    _CACHE[key] = plan
    return plan


async def insert_many(s: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column name; missing columns take the column's scalar
    default or NULL) in one statement."""
    if not rows:
        return
    dialect = s.get_bind().dialect
    if dialect.name != "sqlite":
        await s.execute(insert(table), rows)
        return
    sql, names, procs, defaults = _plan(table, dialect)
    params = []
    for r in rows:
        vals = []
        for name, proc in zip(names, procs, strict=True):
            v = r.get(name, defaults[name])
            vals.append(proc(v) if proc is not None and v is not None else v)
        params.append(tuple(vals))
    conn = await s.connection()
    await conn.exec_driver_sql(sql, params)
