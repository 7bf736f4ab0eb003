"""A simulated promotion day: N orders enter 仓库分单, are auto-assigned to the temps on duty,
and each temp presses 扫码拣货, scans (a wrong code with probability `wrong`), then 完成打包.
Every wrong scan must be refused and leave the order where it was: mis-ship rate 0.

    python bench/mis_ship.py [--orders 6500] [--wrong 0.01] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bench.common import figure, fresh_app
from bot.dispatch import Dispatcher
from bot.types import Incoming
from orders.app import App
from orders.models import Order
from orders.seed import PRODUCTS
from orders.service import Actor
from orders.warehouse.models import WarehouseTask


@dataclass
class DayResult:
    orders: int = 0
    wrong_scans: int = 0
    refused: int = 0
    mis_shipped: int = 0
    packed: int = 0
    seconds: float = 0.0


async def simulate(app: App, dispatcher: Dispatcher, *, wrong: float, seed: int = 1) -> DayResult:
    rnd = random.Random(seed)
    res = DayResult()
    t0 = time.perf_counter()
    async with app.db.session() as s:
        nos = list((await s.scalars(select(Order.order_no).order_by(Order.id))).all())
    for no in nos:
        await app.orders.advance(no, Actor.system(), "仓库分单")  # auto-assigns round robin
    async with app.db.session() as s:
        rows = (await s.execute(select(WarehouseTask, Order).join(Order, Order.id == WarehouseTask.order_id)
                                .options(selectinload(Order.lines)))).all()
    all_skus = [p[0] for p in PRODUCTS]
    for task, order in rows:
        res.orders += 1
        user = task.assignee_id
        await dispatcher.handle(Incoming(user_id=user, kind="card_action", event="template_card_event",
                                         event_key=f"wt:scan:{task.id}", response_code=f"rc{task.id}"))
        own = {ln.sku for ln in order.lines}
        if rnd.random() < wrong:
            res.wrong_scans += 1
            # another product, another order's number, or the other channel's id: never this order's
            others = [s for s in all_skus if s not in own] + [n for n in rnd.sample(nos, 3) if n != order.order_no]
            bad = rnd.choice(others)
            out = await dispatcher.handle(Incoming(user_id=user, kind="scan", scan_result=bad))
            async with app.db.session() as s:
                status = (await s.get(Order, order.id)).status  # type: ignore[union-attr]
            if "扫码不符" in out[0].text and status == "仓库分单":
                res.refused += 1
            else:
                res.mis_shipped += 1
        good = rnd.choice([*sorted(own), order.order_no])
        out = await dispatcher.handle(Incoming(user_id=user, kind="scan", scan_result=good))
        assert "扫码一致" in out[0].text, out[0].text
        out = await dispatcher.handle(Incoming(user_id=user, kind="card_action", event="template_card_event",
                                               event_key=f"wt:pack:{task.id}", response_code=f"rp{task.id}"))
        if "打包完成" in out[0].text:
            res.packed += 1
    res.seconds = time.perf_counter() - t0
    return res


async def main(n: int, wrong: float) -> None:
    app, dispatcher = await fresh_app(n)
    try:
        r = await simulate(app, dispatcher, wrong=wrong)
    finally:
        await app.close()
    figure("orders", r.orders, "orders")
    figure("wrong_scans", r.wrong_scans, "scans")
    figure("wrong_scans_refused", r.refused, "scans")
    figure("orders_packed", r.packed, "orders")
    figure("mis_ship_rate", r.mis_shipped / max(1, r.orders), "")
    figure("time_per_order", 1000 * r.seconds / max(1, r.orders), "ms (advance + scan + pack, real SQLite)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=6500)
    ap.add_argument("--wrong", type=float, default=0.01)
    ap.add_argument("--quick", action="store_true", help="650 orders")
    a = ap.parse_args()
    asyncio.run(main(650 if a.quick else a.orders, a.wrong))
