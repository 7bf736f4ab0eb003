"""orders.fast_reads: straight on SQLite, the same rows as SQLAlchemy gives (sealed, UTC and JSON
columns processed alike), seen by statement listeners, and only where it may run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, select

from config import load_settings
from orders import fast_reads, sheet, shown
from orders.aftersales.models import AfterSalesCase
from orders.app import App, build_app
from orders.intake.models import CarrierScan
from orders.models import Order, Tracking
from orders.sqlite_driver import inline_reads


async def test_fast_rows_are_sqlalchemys_rows(demo_template: Path, tmp_path: Path) -> None:
    """On a SQLite file (the fast path's only engine) with the demo's after-sales, notes and discounts."""
    shutil.copytree(demo_template, tmp_path / "demo")
    app = await build_app(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo' / 'demo.db'}",
                                        data_dir=tmp_path / "demo" / "var"), migrate=False)
    try:
        await _compare(app)
    finally:
        await app.close()


async def _compare(app: App) -> None:
    now = app.clock.now()
    async with app.db.session() as s:  # the demo's parcels have no carrier scans of their own
        numbers = (await s.scalars(select(Tracking.number).order_by(Tracking.id).limit(40))).all()
        s.add_all(CarrierScan(number=n, company="zhongtong", event_at=now, event_time="", place="杭州转运中心",
                              status="在途", context=f"快件已到达 {i}", digest=f"d{i}", received_at=now)
                  for i, n in enumerate(numbers))
    async with app.db.session() as s:
        with_case = select(AfterSalesCase.order_id).where(AfterSalesCase.status == "open").limit(30)
        orders = ((await s.execute(select(Order.id, Order.order_no))).all()[::20]
                  + (await s.execute(select(Order.id, Order.order_no).where(Order.id.in_(with_case)))).all())
    assert len(orders) > 100
    cases = [(shown._statement("id"), lambda o: {"v": o.id}),
             (shown._statement("order_no"), lambda o: {"v": o.order_no}),
             (sheet._around(5), lambda o: {"order_id": o.id})]
    seen: dict[str, int] = {}
    for stmt, params in cases:
        for o in orders:
            async with app.db.session() as s:
                conn = await s.connection()
                slow = [tuple(r) for r in (await conn.execute(stmt, params(o))).all()]
                with inline_reads():
                    fast = await fast_reads.rows(conn, stmt, params(o))
            assert [tuple(r) for r in fast] == slow
            for r in fast:  # by label, as a Row
                for k, v in r._asdict().items():
                    seen[k] = seen.get(k, 0) + (v is not None)
                    assert getattr(r, k) == v
    # the demo data reaches every kind of column: events with JSON details, open cases with a
    # pending step, carrier scans with UTC times, sealed names, discounts
    assert all(seen[k] for k in ("e_detail", "e_at", "case_no", "waiting", "s_event_at", "buyer_name", "d_label",
                                 "status_since", "flags")), [k for k, n in seen.items() if not n]
    assert all(fast_reads._prepared[id(stmt)][1] is not None for stmt, _ in cases)


async def test_listeners_see_the_statement_and_writes_go_through_sqlalchemy(app: App) -> None:
    stmt = sheet._around(2)
    seen: list[tuple[str, Any]] = []

    def on(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        seen.append((sql, context))

    event.listen(app.db.engine.sync_engine, "before_cursor_execute", on)
    try:
        async with app.db.session() as s:
            with inline_reads():
                await fast_reads.rows(await s.connection(), stmt, {"order_id": 1})
        assert len(seen) == 1 and "timeline_events" in seen[0][0]
        if app.db.is_sqlite:
            assert seen[0][1] is None  # ran straight on the connection, not through an execution context
        seen.clear()
        async with app.db.write_session() as s:  # a write transaction: through SQLAlchemy, in its turn
            with inline_reads():
                await fast_reads.rows(await s.connection(), stmt, {"order_id": 1})
        assert len(seen) == 1 and seen[0][1] is not None
        seen.clear()
        async with app.db.session() as s:  # outside inline_reads: through SQLAlchemy (on the thread)
            await fast_reads.rows(await s.connection(), stmt, {"order_id": 1})
        assert len(seen) == 1 and seen[0][1] is not None
        seen.clear()
        listed = select(Order.order_no).where(Order.id.in_(bindparam("ids", expanding=True))).order_by(Order.id)
        for _ in range(2):  # a list parameter: SQLAlchemy's own path, found out once and kept
            async with app.db.session() as s:
                with inline_reads():
                    got = await fast_reads.rows(await s.connection(), listed, {"ids": [1, 2]})
            assert [r.order_no for r in got] == ["BG260122-0001", "BG260122-0002"]
        assert len(seen) == 2 and all(ctx is not None for _, ctx in seen)
        if app.db.is_sqlite:
            assert fast_reads._prepared[id(listed)][1] is None
    finally:
        event.remove(app.db.engine.sync_engine, "before_cursor_execute", on)
