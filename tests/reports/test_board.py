"""The board's risk list read page by page: still-flagged orders only, newest flag first, masked
buyers, evidence lines only where the amounts do not add up; the capped 超时订单 count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from orders import timeline
from orders.app import App
from orders.clock import ManualClock
from orders.models import Order
from orders.reports import board
from orders.reports.digest import stuck_orders


async def _flag(app: App, clock: ManualClock, n: int) -> list[str]:
    """Flag the first ``n`` demo orders one minute apart (newest last); returns their numbers."""
    async with app.db.session() as s:
        orders = (await s.scalars(select(Order).order_by(Order.id).limit(n))).all()
        for i, o in enumerate(orders):
            o.flags = ["疑似刷单"] if i % 2 else ["金额不一致"]
            if not i % 2:
                o.amount_diff_fen = 100
            timeline.record(s, order_id=o.id, at=clock.now() + timedelta(minutes=i), actor="system", source="import",
                            kind="flagged", detail={"flag": o.flags[0], "group": [orders[0].order_no]})
        return [o.order_no for o in orders]


async def test_risk_pages_list_open_flags_newest_first(app: App, clock: ManualClock,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board, "EVENT_BATCH", 2)  # several batches of the flag history
    nos = await _flag(app, clock, 6)
    assert len(nos) == 6
    async with app.db.session() as s:
        await s.execute(update(Order).where(Order.order_no == nos[4]).values(flags=["确认刷单"]))  # reviewed
        p1 = await board.risk_orders(s, limit=3)
        p2 = await board.risk_orders(s, limit=3, offset=3)
        p3 = await board.risk_orders(s, limit=3, offset=6)
    assert [i.order_no for i in p1.items] == [nos[5], nos[3], nos[2]] and p1.more
    assert [i.order_no for i in p2.items] == [nos[1], nos[0]] and not p2.more
    assert p3.items == [] and not p3.more
    brushing, mismatch = p1.items[0], p1.items[2]
    assert mismatch.flags == ("金额不一致",) and mismatch.diff_fen == 100 and mismatch.lines
    assert brushing.flags == ("疑似刷单",) and brushing.lines == () and brushing.group == (nos[0],)
    assert mismatch.buyer.endswith("****" + mismatch.buyer[-4:]) and "*" in mismatch.buyer.split()[0]
    assert p2.items[1].group == ()  # its own number is no evidence against itself


async def test_overdue_count_stops_at_the_cap(app: App, clock: ManualClock) -> None:
    clock.advance(timedelta(hours=72))
    async with app.db.session() as s:
        wf = await app.workflows.current(s)
        _, full = await stuck_orders(s, wf.definition, clock.now())
        _, capped = await stuck_orders(s, wf.definition, clock.now(), count_cap=2)
    assert sum(full.values()) > 3
    assert capped == {k: min(v, 3) for k, v in full.items()}
