"""查 path latency over a large SQLite database.

Seeds N orders with Core bulk inserts (orders, lines, timeline), then times the whole 查 path
(dispatcher to reply text, in process) for random orders by exact number and by 4-digit suffix.
Prints p50/p99 per kind (median over several runs) and the seeding rate."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import figure, median, pct
from bot.dispatch import Dispatcher
from bot.types import Incoming
from config import load_settings
from orders.app import build_app
from orders.models import Order, OrderLine, TimelineEvent
from orders.users import upsert_user

CHUNK = 20_000


async def seed(app, n: int) -> float:  # type: ignore[no-untyped-def]
    rnd = random.Random(1)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    per_day = 3000
    t0 = time.perf_counter()
    for base in range(0, n, CHUNK):
        orders, lines, events = [], [], []
        for i in range(base, min(n, base + CHUNK)):
            day, seq = divmod(i, per_day)
            created = start + timedelta(days=day, seconds=seq * 20)
            no = f"BG{created:%y%m%d}-{seq + 1:04d}"
            orders.append(dict(id=i + 1, order_no=no, order_no_rev=no[::-1], channel=rnd.choice(["taobao", "jd"]),
                               channel_order_id=str(10**15 + i), shop="童趣旗舰店", status="支付成功",
                               status_since=created, flags=[], created_at=created, paid_at=created, updated_at=created,
                               buyer_name="张三", phone_masked="138****5678", phone_hash=f"{i:064x}",
                               province="浙江省", city="杭州市", district="西湖区", address_detail="文三路100号",
                               goods_total_fen=19900, shipping_fen=0, discount_total_fen=0, paid_fen=19900,
                               owner_id="cs01", note="", version=1))
            lines.append(dict(order_id=i + 1, sku="TQ-YRF-120", name="儿童羽绒服 120cm", qty=1, price_fen=19900))
            events.append(dict(order_id=i + 1, at=created, actor="import", source="import", kind="imported",
                               from_state=None, to_state="支付成功", detail={"actor_name": "导入"}))
        async with app.db.session() as s:
            await s.execute(insert(Order), orders)
            await s.execute(insert(OrderLine), lines)
            await s.execute(insert(TimelineEvent), events)
    return n / (time.perf_counter() - t0)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="50k orders, 300 queries: under a minute")
    a = ap.parse_args()
    if a.quick:
        a.orders, a.queries = 50_000, 300
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp}/bench.db", log_level="WARNING")
        app = await build_app(settings)
        async with app.db.session() as s:
            await upsert_user(s, app.roles, user_id="cs01", name="李客服", roles=["cs"], department="",
                              now=app.clock.now())
        rate = await seed(app, a.orders)
        from handlers import registry

        d = Dispatcher(app, registry)
        async with app.db.session() as s:
            from sqlalchemy import select

            nos = list((await s.scalars(select(Order.order_no))).all())
        rnd = random.Random(2)
        results: dict[str, list[tuple[float, float]]] = {"exact": [], "suffix4": []}
        for _ in range(a.runs):
            for kind in results:
                times = []
                for no in rnd.sample(nos, a.queries):
                    q = no if kind == "exact" else no[-4:]
                    t = time.perf_counter()
                    out = await d.handle(Incoming(user_id="cs01", kind="text", text=f"查 {q}"))
                    times.append((time.perf_counter() - t) * 1000)
                    assert out and ("订单" in out[0].text or "匹配到多个订单" in out[0].text), out
                results[kind].append((pct(times, 50), pct(times, 99)))
        await app.close()
    figure("orders_seeded", a.orders, "orders")
    figure("seed_rate", round(rate), "orders/s")
    for kind, runs in results.items():
        figure(f"query_{kind}_p50", median([r[0] for r in runs]), "ms")
        figure(f"query_{kind}_p99", median([r[1] for r in runs]), "ms")


if __name__ == "__main__":
    asyncio.run(main())
