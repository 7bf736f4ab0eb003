"""``epoch_us(column)``: a stored UTC datetime as integer microseconds since 1970, computed by the
database (exact, so time rules can be compared in SQL and rows cross to Python as plain ints)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class epoch_us(FunctionElement[int]):
    type = BigInteger()
    inherit_cache = True
    name = "epoch_us"


@compiles(epoch_us, "sqlite")
def _sqlite(element: epoch_us, compiler: Any, **kw: Any) -> str:
    # Stored as text 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC): whole seconds from strftime, the
    # fraction's six digits (padded when shorter or absent) from the text.
    # unixepoch() (SQLite 3.38+) is five times cheaper than strftime('%s').
    col = compiler.process(element.clauses, **kw)
    seconds = (f"unixepoch({col})" if sqlite3.sqlite_version_info >= (3, 38)
               else f"CAST(strftime('%s', {col}) AS INTEGER)")
    return f"({seconds} * 1000000 + CAST(substr(substr({col}, 21, 6) || '000000', 1, 6) AS INTEGER))"


@compiles(epoch_us, "postgresql")
def _postgresql(element: epoch_us, compiler: Any, **kw: Any) -> str:
    # timestamp without time zone holding UTC: EXTRACT(EPOCH ...) reads it as UTC (numeric: exact).
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) * 1000000 AS BIGINT)"
