"""The hottest small reads, straight on SQLite's connection.

SQLAlchemy Core costs ~140 µs of CPU per statement on top of SQLite's own ~20-30 µs for 查's two
reads (the order with its lines, and what is around it): building the execution context,
processing each bind and each result value, the async adaptation. :func:`rows` runs such a
statement compiled once per dialect straight on the sqlite3 connection, with the same bind and
result processors SQLAlchemy would apply (the columns' own types, so sealed and UTC columns come
back as they would), inside :func:`orders.sqlite_driver.inline_reads` only, on a connection of
our driver that is not in a write transaction. Anything else (PostgreSQL, an in-memory database,
a write session, a statement with expanding ``IN`` lists) goes through SQLAlchemy as usual.
``before_cursor_execute`` listeners still see every statement (tests and tracing rely on them).

Statements given here must be built once (module level or ``functools.cache``): they are
compiled once and kept by identity."""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from orders import sqlite_driver

_Proc = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    binds: tuple[tuple[str, Any, bool, _Proc], ...]  # name, fixed value, taken from the params?, processor
    results: tuple[_Proc, ...]
    row: Callable[..., Any]  # a named tuple class: access by label or position, as a Row


# by the statement's id, with the statement (kept: never collected, so its id is never reused);
# None: a statement SQLAlchemy runs itself (found out once)
_prepared: dict[int, tuple[Select[Any], _Prepared | None]] = {}


def _prepare(stmt: Select[Any], dialect: Dialect) -> _Prepared | None:
    compiled = stmt.compile(dialect=dialect)
    if compiled.positiontup is None or any(b.expanding or b.callable is not None for b in compiled.binds.values()):
        return None  # a list or a value known only at execution: SQLAlchemy's own path
    binds = []
    for name in compiled.positiontup:
        b = compiled.binds[name]
        binds.append((name, b.value, b.required, b.type.dialect_impl(dialect).bind_processor(dialect)))
    cols = list(stmt.selected_columns)
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in cols)
    row = collections.namedtuple("Row", list(stmt.selected_columns.keys()), rename=True)  # type: ignore[misc]
    return _Prepared(compiled.string, tuple(binds), results, row._make)


async def rows(conn: AsyncConnection, stmt: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
    """``(await conn.execute(stmt, params)).all()``, straight on SQLite when it may (see above)."""
    if conn.dialect.name != "sqlite" or not sqlite_driver.reading_inline():
        return (await conn.execute(stmt, params)).all()
    driver = (await conn.get_raw_connection()).driver_connection
    if not isinstance(driver, sqlite_driver.OneTripConnection) or driver.in_place:
        return (await conn.execute(stmt, params)).all()
    known = _prepared.get(id(stmt))
    if known is None:
        known = _prepared[id(stmt)] = (stmt, _prepare(stmt, conn.dialect))
    prep = known[1]
    if prep is None:
        return (await conn.execute(stmt, params)).all()
    args = tuple((proc(v) if proc is not None else v) for name, fixed, given, proc in prep.binds
                 for v in (params[name] if given else fixed,))
    sync = conn.sync_connection
    if sync is not None and (sync._has_events or sync.engine._has_events):
        for fn in sync.dispatch.before_cursor_execute:
            fn(sync, None, prep.sql, args, None, False)
    out = []
    for raw in sqlite_driver.raw_connection(driver).execute(prep.sql, args).fetchall():
        out.append(prep.row([v if p is None else p(v) for p, v in zip(prep.results, raw, strict=True)]))
    return out
