"""A simulated promotion day on the warehouse floor, through the real dispatcher and database.

N orders enter 仓库分单 and are auto-assigned to the temps on duty. Each temp presses 扫码拣货 and
scans each unit's EAN-13 tag, then presses 完成打包. Mistakes are injected as temps make them:
a wrong item picked (probability ``wrong`` per order), a unit left out (``short``), and a hold
arriving mid-pick (``held``: the customer service 拦截 it). A parcel is *wrong* when its box
does not hold exactly the order's units, or it was held and still left.

Without checks (the floor before issue #12: one scan of anything, the slip included, passes) every
mistake leaves the warehouse. With checks a wrong tag is refused (the temp puts it back and picks
the right one), 完成打包 is refused while a unit is missing, and a held order cannot be scanned or
packed. 错发率 = wrong parcels ÷ parcels packed.

    python bench/mis_ship.py [--orders 6500] [--wrong 0.02] [--short 0.01] [--held 0.005] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
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
from orders.warehouse.barcodes import import_rows
from orders.warehouse.models import WarehouseTask


def ean13(n: int) -> str:
    body = f"690{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


TAGS = {sku: ean13(i + 1) for i, (sku, _, _) in enumerate(PRODUCTS)}


@dataclass
class DayResult:
    orders: int = 0
    packed: int = 0
    wrong_parcels: int = 0  # packed with checks, but the box is not the order
    refused_scans: int = 0
    refused_packs: int = 0
    held: int = 0
    naive_packed: int = 0  # the same day without checks
    naive_wrong: int = 0
    seconds: float = 0.0

    def rate(self) -> float:
        return self.wrong_parcels / self.packed if self.packed else 0.0

    def naive_rate(self) -> float:
        return self.naive_wrong / self.naive_packed if self.naive_packed else 0.0


def press(user: str, action: str, task: int) -> Incoming:
    return Incoming(user_id=user, kind="card_action", event="template_card_event", event_key=f"wt:{action}:{task}",
                    response_code=f"rc-{action}-{task}")


def scan(user: str, code: str) -> Incoming:
    return Incoming(user_id=user, kind="scan", scan_result=f"EAN_13,{code}")


async def simulate(app: App, dispatcher: Dispatcher, *, wrong: float, short: float = 0.0, held: float = 0.0,
                   seed: int = 1) -> DayResult:
    rnd = random.Random(seed)
    res = DayResult()
    await import_rows(app.db, [(i, {"sku": sku, "barcode": code, "bin": f"A-{i:02d}", "spec": ""}, "")
                               for i, (sku, code) in enumerate(TAGS.items(), 1)], by="bench", now=app.clock.now())
    t0 = time.perf_counter()
    async with app.db.session() as s:
        nos = list((await s.scalars(select(Order.order_no).order_by(Order.id))).all())
    for no in nos:
        await app.orders.advance(no, Actor.system(), "仓库分单")  # auto-assigns round robin
    async with app.db.session() as s:
        rows = (await s.execute(select(WarehouseTask, Order).join(Order, Order.id == WarehouseTask.order_id)
                                .options(selectinload(Order.lines)))).all()
    for task, order in rows:
        res.orders += 1
        user = task.assignee_id
        want = Counter({ln.sku: ln.qty for ln in order.lines})
        units = [sku for sku, n in want.items() for _ in range(n)]
        is_wrong, is_short, is_held = rnd.random() < wrong, rnd.random() < short, rnd.random() < held
        # without checks: whatever the temp picked leaves, held or not
        res.naive_packed += 1
        res.naive_wrong += is_wrong or is_short or is_held
        # with checks, through the bot
        box: Counter[str] = Counter()
        await dispatcher.handle(press(user, "scan", task.id))
        await dispatcher.handle(scan(user, order.order_no))  # the slip: opens the card, counts nothing
        for i, sku in enumerate(units):
            if is_held and i == 0 and len(units) > 0:
                await dispatcher.handle(Incoming(user_id="cs01", kind="text", text=f"拦截 {order.order_no} 买家退款"))
            if is_short and i == len(units) - 1:
                out = await dispatcher.handle(press(user, "pack", task.id))
                if "打包完成（" in out[0].text:
                    break  # it left short
                res.refused_packs += 1
                await dispatcher.handle(press(user, "scan", task.id))
            if is_wrong and i == 0:
                other = rnd.choice([p for p in TAGS if p not in want])
                out = await dispatcher.handle(scan(user, TAGS[other]))
                if "扫码一致" in out[0].text:
                    box[other] += 1  # it went into the box
                else:
                    res.refused_scans += 1
            out = await dispatcher.handle(scan(user, TAGS[sku]))
            if "扫码一致" in out[0].text:
                box[sku] += 1
            else:
                res.refused_scans += 1
        out = await dispatcher.handle(press(user, "pack", task.id))
        if "打包完成（" in out[0].text:
            res.packed += 1
            res.wrong_parcels += box != want or is_held
        elif is_held:
            res.held += 1
    res.seconds = time.perf_counter() - t0
    return res


async def main(n: int, wrong: float, short: float, held: float) -> None:
    app, dispatcher = await fresh_app(n)
    try:
        r = await simulate(app, dispatcher, wrong=wrong, short=short, held=held)
    finally:
        await app.close()
    figure("orders", r.orders, "orders")
    figure("mis-ship rate without checks", 100 * r.naive_rate(), f"% ({r.naive_wrong} wrong of {r.naive_packed} "
           "parcels; wrong item, short or held)")
    figure("mis-ship rate with checks", 100 * r.rate(), f"% ({r.wrong_parcels} wrong of {r.packed} parcels; "
           "target < 0.2 %)")
    figure("scans refused", r.refused_scans, "scans")
    figure("packs refused (units missing)", r.refused_packs, "presses")
    figure("held orders kept back", r.held, "orders")
    figure("time per order", 1000 * r.seconds / max(1, r.orders), "ms (assign + scans + pack, real SQLite)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=6500)
    ap.add_argument("--wrong", type=float, default=0.02, help="share of orders where a wrong item is picked")
    ap.add_argument("--short", type=float, default=0.01, help="share of orders where a unit is left out")
    ap.add_argument("--held", type=float, default=0.005, help="share of orders held mid-pick")
    ap.add_argument("--quick", action="store_true", help="120 orders")
    a = ap.parse_args()
    asyncio.run(main(120 if a.quick else a.orders, a.wrong, a.short, a.held))
