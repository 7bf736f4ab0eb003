"""Analytics build times: the customer value pool over 1,000,000 orders (~290,000 buyers, 90 days,
five channels; goal < 5 s for the whole rebuild: load + compute + store) and the collaboration
report over a month of order look-ups and state changes (80,000 orders walking the workflow:
400,000 state changes, 160,000 look-ups; goal < 2 s). ``--quick``: 100,000 orders and a tenth of the month.
Region fulfilment health (``bench/region_health.py``): the report over 1,000,000 orders including
the read of the stored parcel facts from SQLite (goal < 3 s), and the map render (goal < 0.5 s).
Data is bulk-loaded into a migrated temporary SQLite file (``bench.common``); each build runs several times
and the medians are printed."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bulk_load, temp_db
from bench.region_health import region_figures
from config import load_settings
from orders.app import build_app
from orders.clock import ManualClock
from orders.db import Database
from orders.models import Order, TimelineEvent
from orders.reports import collaboration
from orders.reports.customers import PoolConfig
from orders.reports.models import OrderAsk
from orders.reports.pool import build

NOW = datetime(2026, 1, 22, 1, 0, tzinfo=UTC)
CHANNELS = ["taobao", "pdd", "douyin", "jd", "wechat"]


def _orders(n: int, rnd: random.Random) -> Iterator[dict[str, Any]]:
    buyers = max(1, int(n * 0.29))
    for i in range(n):
        created = NOW - timedelta(seconds=rnd.randint(0, 95 * 86400))
        b = int(rnd.paretovariate(1.2) * 7919 + i) % buyers  # a few buyers order often
        phone, bid = (f"{b:064x}", "") if b % 10 else ("", f"{b:064x}")  # one in ten: no phone
        no = f"BG{created:%y%m%d}-{i:07d}"
        yield {"order_no": no, "order_no_rev": no[::-1], "channel": CHANNELS[(b + (i % 7 == 0)) % 5],
               "channel_order_id": f"C{i:012d}", "shop": "bench", "status": "签收确认", "status_since": created,
               "flags": [], "created_at": created, "paid_at": created, "updated_at": created, "buyer_name": "",
               "phone_masked": "", "phone_hash": phone, "buyer_id_hash": bid, "province": "", "city": "",
               "district": "", "address_detail": "", "goods_total_fen": 10000, "shipping_fen": 0,
               "discount_total_fen": 0, "paid_fen": rnd.randint(1000, 50000), "owner_id": "cs01", "assignee_id": None,
               "note": "", "version": 1}


def load_orders(path: Path, n: int) -> None:
    with bulk_load(path) as put:
        put(Order, _orders(n, random.Random(42)))


async def bench_pool(n_orders: int, repeats: int) -> None:
    async with temp_db() as (path, url):
        t0 = time.perf_counter()
        load_orders(path, n_orders)
        load_s = time.perf_counter() - t0
        db = Database(url)
        loads, computes, stores = [], [], []
        buyers = 0
        try:
            for _ in range(repeats):
                built = await build(db, PoolConfig(), NOW, "Asia/Shanghai")
                assert built is not None
                buyers = built.buyers
                loads.append(built.load_s)
                computes.append(built.compute_s)
                stores.append(built.store_s)
        finally:
            await db.dispose()
    print(f"pool_orders: {n_orders} rows")
    print(f"pool_buyers: {buyers} buyers")
    print(f"pool_bulk_load: {load_s:.1f} s")
    print(f"value_pool_query_median: {statistics.median(loads) * 1000:.0f} ms")
    print(f"value_pool_compute_median: {statistics.median(computes) * 1000:.0f} ms")
    build_ms = statistics.median(a + b for a, b in zip(loads, computes, strict=True)) * 1000
    print(f"value_pool_build_median: {build_ms:.0f} ms")
    print(f"value_pool_store_median: {statistics.median(stores) * 1000:.0f} ms")
    total_ms = statistics.median(a + b + c for a, b, c in zip(loads, computes, stores, strict=True)) * 1000
    print(f"value_pool_rebuild_with_store_median: {total_ms:.0f} ms")


STATES = ["支付成功", "仓库分单", "拣货中", "打包完成", "物流揽收", "签收确认"]
DEPTS = ["客服部", "仓储部", "运营部", "财务部"]


def load_events(path: Path, n_orders: int, n_asks: int) -> None:
    """A month: each order walks the workflow (a timeline row per move); look-ups at random."""
    rnd = random.Random(7)
    start = NOW - timedelta(days=30)
    moves, since = [], {}
    with bulk_load(path) as put:
        put(Order, _orders(n_orders, rnd))
        for oid in range(1, n_orders + 1):
            at = start + timedelta(seconds=rnd.randint(0, 29 * 86400))
            for a, b in itertools.pairwise(STATES):
                at += timedelta(minutes=rnd.randint(5, 600))
                moves.append({"order_id": oid, "at": at, "actor": "wh01", "source": "button", "kind": "state_changed",
                              "from_state": a, "to_state": b, "detail": {}})
            since[oid] = at
        put(TimelineEvent, moves)
        asks = ({"order_id": (oid := rnd.randint(1, n_orders)), "user_id": "u", "department": rnd.choice(DEPTS),
                 "command": "查", "state": rnd.choice(STATES), "state_since": since[oid] - timedelta(hours=30),
                 "at": start + timedelta(seconds=rnd.randint(0, 30 * 86400)), "msg_id": ""} for _ in range(n_asks))
        put(OrderAsk, asks)


async def bench_collab(n_orders: int, n_asks: int, repeats: int) -> None:
    async with temp_db() as (path, url):
        load_events(path, n_orders, n_asks)
        app = await build_app(load_settings(database_url=url, data_dir=path.parent / "var"), clock=ManualClock(NOW),
                              migrate=False)
        times = []
        try:
            for _ in range(repeats):
                t = time.perf_counter()
                c = await collaboration.build(app, NOW - timedelta(days=30), NOW)
                times.append(time.perf_counter() - t)
        finally:
            await app.close()
    print(f"collab_orders: {n_orders} orders")
    print(f"collab_events: {n_orders * (len(STATES) - 1)} state changes, {n_asks} look-ups")
    print(f"collab_interruptions: {c.count} interruptions, {c.handoffs} handoffs")
    print(f"collaboration_build_median: {statistics.median(times) * 1000:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="100,000 orders, fewer events")
    ap.add_argument("--orders", type=int)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-pool", action="store_true", help="leave out the customer pool")
    ap.add_argument("--skip-regions", action="store_true", help="leave out the region figures")
    a = ap.parse_args()
    orders = a.orders or (100_000 if a.quick else 1_000_000)
    if not a.skip_pool:
        asyncio.run(bench_pool(orders, a.repeats))
    month = 8_000 if a.quick else 80_000
    asyncio.run(bench_collab(month, month * 2, a.repeats))
    if not a.skip_regions:
        region_figures(a.quick)


if __name__ == "__main__":
    main()
