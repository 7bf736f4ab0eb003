"""The collaboration build (narrow integer columns, numpy over each order's rows) gives the same
figures as the first pandas build (tests/reports/collab_reference.py) on a fixed, generated set
of state changes and look-ups: boundaries hit exactly (a repeat 60 minutes after, an age equal
to the limit), ties in time, asks before the window, unknown departments and states."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert, select

from orders.app import App
from orders.models import Order, TimelineEvent
from orders.reports.collaboration import COLLAB_CONFIG, Collab, CollabConfig, build
from orders.reports.models import OrderAsk
from tests.reports.collab_reference import reference_build

THU = datetime(2026, 1, 22, 2, 0, tzinfo=UTC)
DEPTS = ["客服部", "仓储部", "物流部", "运营部", "财务部", ""]


def _order(i: int) -> dict[str, object]:
    no = f"CB260101-{i:04d}"
    at = THU - timedelta(days=20)
    return {"order_no": no, "order_no_rev": no[::-1], "channel": "taobao", "channel_order_id": f"CB{i}", "shop": "t",
            "status": "支付成功", "status_since": at, "flags": [], "created_at": at, "paid_at": at, "updated_at": at,
            "buyer_name": "", "phone_masked": "", "phone_hash": "", "province": "", "city": "", "district": "",
            "address_detail": "", "goods_total_fen": 100, "shipping_fen": 0, "discount_total_fen": 0, "paid_fen": 100,
            "owner_id": "cs01", "assignee_id": None, "note": "", "version": 1}


async def _events(app: App, seed: int) -> None:
    rnd = random.Random(seed)
    async with app.db.session() as s:
        await s.execute(insert(Order), [_order(i) for i in range(80)])
        ids = list((await s.scalars(select(Order.id))).all())
        wf = (await app.workflows.current(s)).definition
        states = [st.name for st in (*wf.states, *wf.branches)] + ["无人负责"]
        moves, asks = [], []
        for oid in ids:
            at = THU - timedelta(days=12) + timedelta(minutes=10 * rnd.randint(0, 1500))
            state = rnd.choice(states)
            for _ in range(rnd.randint(0, 9)):
                at += timedelta(minutes=10 * rnd.randint(0, 40))  # 0: a tie with the previous change
                nxt = rnd.choice(states)
                moves.append({"order_id": oid, "at": at, "actor": "t", "source": "button", "kind": "state_changed",
                              "from_state": state, "to_state": nxt, "detail": {}})
                state = nxt
            moves.append({"order_id": oid, "at": at, "actor": "t", "source": "chat", "kind": "note",
                          "from_state": None, "to_state": None, "detail": {}})  # not a state change
            ask_at = THU - timedelta(days=11) + timedelta(minutes=10 * rnd.randint(0, 1500))
            for _ in range(rnd.randint(0, 12)):
                ask_at += timedelta(minutes=rnd.choice([0, 10, 30, 60, 60, 70, 600, 1440]))
                asks.append({"order_id": oid, "user_id": "u", "department": rnd.choice(DEPTS),
                             "command": rnd.choice(["查", "轨迹"]), "state": rnd.choice(states),
                             "state_since": ask_at - timedelta(minutes=30 * rnd.randint(0, 16)), "at": ask_at,
                             "msg_id": ""})
        await s.execute(insert(TimelineEvent), moves)
        await s.execute(insert(OrderAsk), asks)


def _same(a: Collab, b: Collab) -> None:
    assert (a.count, a.handoffs, a.per_day) == (b.count, b.handoffs, b.per_day)
    assert a.by_dept.sort_index().sort_index(axis=1).equals(b.by_dept.sort_index().sort_index(axis=1))
    np.testing.assert_allclose(a.wait_median, b.wait_median, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
async def test_figures_match_the_first_build(app: App, seed: int) -> None:
    await _events(app, seed)
    for start, end in [(THU - timedelta(days=7), THU), (THU - timedelta(days=30), THU + timedelta(days=1)),
                       (THU - timedelta(days=3, minutes=5), THU - timedelta(days=1))]:
        new, ref = await build(app, start, end), await reference_build(app, start, end)
        assert ref.count > 10 and ref.handoffs > 10  # the set exercises both figures
        _same(new, ref)


async def test_without_repeat_or_overdue_rules(app: App) -> None:
    await _events(app, 3)
    start, end = THU - timedelta(days=10), THU
    for overdue, repeat in [(False, 60.0), (True, 0.0), (False, 0.0), (True, 90.0)]:
        app[COLLAB_CONFIG] = CollabConfig(count_overdue=overdue, repeat_minutes=repeat)  # as the YAML would set
        _same(await build(app, start, end), await reference_build(app, start, end))


async def test_empty_windows(app: App) -> None:
    await _events(app, 4)
    later, earlier = THU + timedelta(days=5), THU - timedelta(days=60)  # nothing read; only later changes read
    for start, end in [(later, later + timedelta(days=1)), (earlier, earlier + timedelta(days=1))]:
        new = await build(app, start, end)
        assert (new.count, new.handoffs) == (0, 0)
        _same(new, await reference_build(app, start, end))
