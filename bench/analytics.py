"""Analytics build times: the customer value pool over 1,000,000 orders (~290,000 buyers, 90 days,
five channels; goal < 5 s for load + compute) and the collaboration report over a month of order
look-ups and state changes (goal < 2 s). ``--quick``: 100,000 orders and a tenth of the events.
Region fulfilment health (``bench/region_health.py``): metrics build over 1,000,000 parcels' facts
(goal < 3 s), the facts load from SQLite, and the map render in process (goal < 0.5 s).
Data is bulk-inserted into a fresh SQLite file with Core inserts; each build runs several times
and the medians are printed."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, insert

from bench.region_health import region_figures
from orders.db import Database, _sqlite_pragmas
from orders.models import Order
from orders.reports.customers import PoolConfig
from orders.reports.pool import build

NOW = datetime(2026, 1, 22, 1, 0, tzinfo=UTC)
CHANNELS = ["taobao", "pdd", "douyin", "jd", "wechat"]
BATCH = 20_000


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


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch = []
    for r in rows:
        batch.append(r)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def load_orders(path: Path, n: int) -> None:
    rnd = random.Random(42)
    eng = create_engine(f"sqlite:///{path}")
    event.listen(eng, "connect", _sqlite_pragmas)
    with eng.begin() as c:
        for b in _batches(_orders(n, rnd)):
            c.execute(insert(Order), b)
        c.exec_driver_sql("ANALYZE")
    eng.dispose()


async def bench_pool(n_orders: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.migrate()
        t0 = time.perf_counter()
        load_orders(path, n_orders)
        load_s = time.perf_counter() - t0
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="100,000 orders, fewer events")
    ap.add_argument("--orders", type=int)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    orders = a.orders or (100_000 if a.quick else 1_000_000)
    asyncio.run(bench_pool(orders, a.repeats))
    region_figures(a.quick)


if __name__ == "__main__":
    main()
