"""Fast bulk inserts. ``insert_many`` (dict rows): on SQLite one driver-level ``executemany`` per
table with the values already run through each column type's bind processor (what Core would do,
minus its per-row bookkeeping); other databases use Core ``insert()``. ``write_tuples`` (rows
already as the database takes them): SQLite multi-row ``VALUES``, PostgreSQL ``COPY``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import CallableColumnDefault

from orders.base import UTCDateTime


def _sqlite_utc(v: datetime) -> str:
    """What UTCDateTime + SQLite's DATETIME store (naive UTC text), in one step."""
    if v.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class _RowContext:
    """Stands in for SQLAlchemy's execution context when a callable default runs in a bulk insert."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def get_current_parameters(self) -> dict[str, Any]:
        return self.row


# SQLite's bound-parameter limit (SQLITE_MAX_VARIABLE_NUMBER, 32766 since 3.32): rows go in as
# multi-row VALUES of up to this many parameters. One statement binds them all and then runs
# without the GIL; an executemany takes the GIL back for every row, and behind a busy event loop
# each of those waits out the interpreter's switch interval (5 ms).
SQLITE_MAX_VARS = 32766
Plan = tuple[str, list[str], list[Callable[[Any], Any] | None], dict[str, Any], dict[str, Callable[[Any], Any]]]
_CACHE: dict[tuple[str, str], Plan] = {}


def _plan(table: Table, dialect: Dialect) -> Plan:
    key = (table.name, dialect.name)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    cols = list(table.columns)
    names = [c.name for c in cols]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    procs: list[Callable[[Any], Any] | None] = [
        _sqlite_utc if isinstance(c.type, UTCDateTime) else c.type._cached_bind_processor(dialect) for c in cols]
    defaults = {c.name: getattr(c.default, "arg", None) if c.default is not None and c.default.is_scalar else None
                for c in cols}
    # Python callable defaults (e.g. a reversed key derived from the row) get the row as their context
    derived: dict[str, Callable[[Any], Any]] = {
        c.name: c.default.arg for c in cols if isinstance(c.default, CallableColumnDefault)}
    plan: Plan = (sql, names, procs, defaults, derived)
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
    sql, names, procs, defaults, derived = _plan(table, dialect)
    get = itemgetter(*names)
    active = [(i, p) for i, p in enumerate(procs) if p is not None]
    # rows are built alike: fill the columns the first row lacks with their defaults
    base = {k: defaults[k] for k in names if k not in rows[0]}
    fill = [(k, fn) for k, fn in derived.items() if k not in rows[0]]
    params = []
    for r in rows:
        if fill:
            r = {**r, **{k: fn(_RowContext(r)) for k, fn in fill}}
        vals = list(get({**base, **r} if base else r))
        for i, proc in active:
            v = vals[i]
            if v is not None:
                vals[i] = proc(v)
        params.append(tuple(vals))
    conn = await s.connection()
    await conn.exec_driver_sql(sql, params)


def sqlite_ts(v: datetime) -> str:
    """An aware datetime as a UTCDateTime column holds it on SQLite."""
    return _sqlite_utc(v)


def pg_ts(v: datetime) -> datetime:
    """An aware datetime as a UTCDateTime column holds it on PostgreSQL (naive UTC)."""
    if v.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    return v.astimezone(UTC).replace(tzinfo=None)


def _filled(table: Table, cols: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The columns of ``table`` missing from ``cols`` that have a constant Python default, with
    those defaults (the rest take their server default or NULL)."""
    names, values = [], []
    for c in table.columns:
        if c.name in cols or c.primary_key or c.default is None:
            continue
        if not c.default.is_scalar:
            raise ValueError(f"{table.name}.{c.name} has a computed default: give it in the rows")
        names.append(c.name)
        values.append(c.default.arg)  # type: ignore[attr-defined]
    return tuple(names), tuple(values)


async def reserve_ids(s: AsyncSession, table: Table, n: int) -> list[int]:
    """``n`` new primary keys of ``table`` in increasing order. SQLite: after the highest (the
    transaction must already hold the write lock); PostgreSQL: from the id sequence."""
    if n == 0:
        return []
    if s.get_bind().dialect.name == "sqlite":
        start = int(await s.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0)
        return list(range(start + 1, start + 1 + n))
    res = await s.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                               "FROM generate_series(1, :n)"), {"n": n})
    return sorted(int(r[0]) for r in res)


async def write_tuples(s: AsyncSession, table: Table, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (tuples in ``cols`` order, values already as the database takes them: see
    :func:`sqlite_ts` / :func:`pg_ts`, JSON as text): SQLite multi-row ``VALUES`` statements of
    up to SQLITE_MAX_VARS parameters, PostgreSQL ``COPY`` (asyncpg ``copy_records_to_table``),
    inside the session's transaction."""
    if not rows:
        return
    extra_names, extra = _filled(table, cols)
    names = cols + extra_names
    if extra:
        rows = [r + extra for r in rows]
    conn = await s.connection()
    if s.get_bind().dialect.name == "sqlite":
        head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
        one = f"({', '.join('?' * len(names))})"
        per = SQLITE_MAX_VARS // len(names)
        for i in range(0, len(rows), per):
            part = rows[i:i + per]
            await conn.exec_driver_sql(head + ", ".join([one] * len(part)), tuple(chain.from_iterable(part)))
        return
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table.name, records=rows, columns=names)  # type: ignore[union-attr]
