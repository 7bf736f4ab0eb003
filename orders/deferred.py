"""Bookkeeping writes that may ride along with a message's reply.

A message handled from the WeCom inbox ends in one transaction that marks the inbox row done and
queues its replies (bot/wecom/processor.py). Small writes nobody waits on (the command usage
count, the 查 look-up record, the user's focus) join that transaction instead of each opening
its own: one SQLite write per batch of messages instead of three per message, and the writes are
done exactly when the reply is (a message handled twice after a crash records once).
Outside such a unit (console, tests, CLI) :func:`write` runs at once in its own transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession

from orders.db import Database, built_once

Write = Callable[[AsyncSession], Awaitable[None]]
Statement = Callable[[AsyncSession], Executable]


@dataclass(frozen=True)
class Rows:
    """One parameter set of a statement: a unit runs every set of one ``statement`` (the same
    function) as a single executemany, e.g. the usage counts of a whole batch in one go."""

    statement: Statement
    params: dict[str, Any]

    async def __call__(self, s: AsyncSession) -> None:
        await s.execute(self.statement(s), [self.params])

_unit: ContextVar[list[Write] | None] = ContextVar("orderbot_deferred_writes", default=None)


async def write(db: Database, fn: Write) -> None:
    """Run ``fn(session)`` in the current unit's closing transaction, or now in its own."""
    pending = _unit.get()
    if pending is not None:
        pending.append(fn)
        return
    async with db.session() as s:
        await fn(s)


@contextmanager
def collect() -> Iterator[list[Write]]:
    """Within this block :func:`write` only collects; the caller runs the list in its transaction."""
    pending: list[Write] = []
    token = _unit.set(pending)
    try:
        yield pending
    finally:
        _unit.reset(token)


async def run(session: AsyncSession, writes: list[Write]) -> None:
    """Run collected writes; :class:`Rows` of one statement together, after the others, each
    statement built once per database kind and run on the session's connection (Core)."""
    grouped: dict[Statement, list[dict[str, Any]]] = {}
    for fn in writes:
        if isinstance(fn, Rows):
            grouped.setdefault(fn.statement, []).append(fn.params)
        else:
            await fn(session)
    if not grouped:
        return
    conn = await session.connection()
    for statement, params in grouped.items():
        await conn.execute(built_once(session, statement), params)
