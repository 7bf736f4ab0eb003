"""Storing the customer pool: one driver-level statement (SQLite executemany, PostgreSQL COPY),
a rebuild replaces every row (no buyer twice), NaN metrics stored as NULL; the migration that
re-keys the table by row id keeps the rows both ways."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from orders.app import App
from orders.db import alembic_config
from orders.reports.models import CustomerPoolRow
from orders.reports.pool import rebuild
from tests.reports.test_customers import _load, buyers_fixture


async def _rows(app: App) -> list[tuple[object, ...]]:
    async with app.db.session() as s:
        q = select(CustomerPoolRow.buyer_key, CustomerPoolRow.orders, CustomerPoolRow.amount_fen,
                   CustomerPoolRow.interval_cv, CustomerPoolRow.tolerance, CustomerPoolRow.segment,
                   CustomerPoolRow.high_potential).order_by(CustomerPoolRow.buyer_key)
        return [tuple(r) for r in (await s.execute(q)).all()]


async def test_rebuild_replaces_the_rows(app: App) -> None:
    await _load(app, buyers_fixture())
    built = await rebuild(app)
    assert built is not None and built.buyers > 3
    first = await _rows(app)
    assert len(first) == built.buyers == len({r[0] for r in first})
    assert any(r[3] is None for r in first) and any(r[4] is None for r in first)  # NaN → NULL
    assert await rebuild(app) is not None
    assert await _rows(app) == first
    async with app.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(CustomerPoolRow)) == built.buyers
        stamped = set((await s.scalars(select(CustomerPoolRow.built_at))).all())
    assert stamped == {app.clock.now()}


async def test_migration_keeps_the_pool_both_ways(app: App) -> None:
    await _load(app, buyers_fixture())
    await rebuild(app)
    before = await _rows(app)
    below = ScriptDirectory.from_config(alembic_config()).get_revision("0023_collab_cover").down_revision
    async with app.db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), str(below)))
    async with app.db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "heads"))
    assert await _rows(app) == before
    assert await rebuild(app) is not None and await _rows(app) == before
