"""Brushing: same phone hash + same product within 10 minutes flags every order of the group."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from orders.app import App
from orders.intake.brushing import FLAG
from orders.outbox import OutboxMessage
from tests.fakes import payloads as P
from tests.intake.helpers import events_of, order_of, pull_in

ONE = [("TQ-YRF-120", "儿童羽绒服 120cm", 1, 19900)]


async def _robot_rows(app: App) -> list[OutboxMessage]:
    async with app.db.session() as s:
        return list((await s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))).all())


async def test_959_apart_flags_both_and_tells_risk_once(app: App) -> None:
    a = P.taobao("B1", lines=ONE, payment=13620)
    b = P.taobao("B2", lines=ONE, payment=13620, at=P.T0 + timedelta(minutes=9, seconds=59))
    rep = await pull_in(app, "taobao", a)
    assert rep.flagged_brushing == 0
    rep = await pull_in(app, "taobao", b)  # a later import finds the earlier order
    assert rep.flagged_brushing == 2
    for oid in ("B1", "B2"):
        o = await order_of(app, "taobao", oid)
        assert FLAG in o.flags
        assert any(e.kind == "flagged" and e.detail["flag"] == FLAG for e in await events_of(app, o.id))
    rows = await _robot_rows(app)
    assert len(rows) == 1 and rows[0].target == "risk" and rows[0].msgtype == "text"
    assert "138****5678" in rows[0].payload["content"] and "13812345678" not in rows[0].payload["content"]
    # a third order of the same group is flagged, the group is not announced again
    c = P.taobao("B3", lines=ONE, payment=13620, at=P.T0 + timedelta(minutes=15))
    rep = await pull_in(app, "taobao", c)
    assert rep.flagged_brushing == 1 and len(await _robot_rows(app)) == 1
    assert FLAG in (await order_of(app, "taobao", "B3")).flags


async def test_1001_apart_is_not_brushing(app: App) -> None:
    a = P.taobao("C1", lines=ONE, payment=13620)
    b = P.taobao("C2", lines=ONE, payment=13620, at=P.T0 + timedelta(minutes=10, seconds=1))
    rep = await pull_in(app, "taobao", a, b)
    assert rep.flagged_brushing == 0
    assert FLAG not in (await order_of(app, "taobao", "C2")).flags
    assert await _robot_rows(app) == []


async def test_other_product_or_other_phone_is_not_brushing(app: App) -> None:
    other = [("TQ-WY-110", "加绒卫衣 110cm", 1, 19900)]
    rep = await pull_in(app, "taobao", P.taobao("D1", lines=ONE, payment=13620),
                        P.taobao("D2", lines=other, payment=13620, at=P.T0 + timedelta(minutes=2)),
                        P.taobao("D3", lines=ONE, payment=13620, phone="13900001111",
                                 at=P.T0 + timedelta(minutes=3)))
    assert rep.added == 3 and rep.flagged_brushing == 0


async def test_phones_are_looked_up_on_their_index_in_a_big_first_import(app: App) -> None:
    """A big first import: ``orders`` has no statistics yet (PostgreSQL's planner then guesses that a
    time range holds 0.5 % of the rows). Each phone must still be looked up in the (phone_hash,
    created_at) index, not every order of the batch's time range read through the time index and
    matched against the phones: that took ~200 ms per 500 phones at 200,000 orders, growing with
    the table."""
    await pull_in(app, "taobao", *[P.taobao(f"M{i:05d}", lines=ONE, payment=13620, phone=f"139{i:08d}",
                                            at=P.T0 + timedelta(seconds=i)) for i in range(4000)])
    seen: list[tuple[str, Any]] = []

    def on(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(app.db.engine.sync_engine, "before_cursor_execute", on)
    try:  # the same phones and product again a minute later: 50 pairs
        rep = await pull_in(app, "taobao", *[P.taobao(f"N{i:05d}", lines=ONE, payment=13620, phone=f"139{i:08d}",
                                                      at=P.T0 + timedelta(seconds=i, minutes=1)) for i in range(50)])
    finally:
        event.remove(app.db.engine.sync_engine, "before_cursor_execute", on)
    assert rep.flagged_brushing == 100
    pg = app.db.engine.dialect.name == "postgresql"
    checks = [(sql, p) for sql, p in seen if "phone_hash" in sql and "created_at >=" in sql and "SELECT" in sql]
    assert len(checks) == 2, [sql for sql, _ in seen]  # the repeated phones, then their orders' lines
    async with app.db.engine.connect() as c:
        if pg:
            stats = await c.exec_driver_sql("SELECT count(*) FROM pg_stats WHERE tablename = 'orders'")
            assert stats.scalar() == 0  # the planner's situation in a big first import
        for sql, params in checks:
            plan = "\n".join(str(r[-1]) for r in await c.exec_driver_sql(
                ("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + sql, params))
            assert "ix_orders_phone_hash_created" in plan and "ix_orders_created_at" not in plan, f"{sql}\n{plan}"
