"""查 path latency over a large SQLite database.

Seeds N orders with Core bulk inserts (orders, lines, timeline, tracking numbers), then times the
whole 查 path (dispatcher to reply text, in process) for random orders by exact number, 4-digit
suffix, the buyer's mobile last 4, the buyer's name (about 500 distinct names, so a list), the
tracking number and a platform-id suffix (尾号 + 6 digits). Prints p50/p99 per kind (median over
several runs) and the seeding rate."""

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
from orders.models import Order, OrderLine, TimelineEvent, Tracking
from orders.privacy import buyer_columns
from orders.users import upsert_user

CHUNK = 20_000
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
NAMES = [s + g for s in SURNAMES for g in ("女士", "先生", "小明", "丽", "伟")]


_NAME_KEYS: dict[str, str] = {}


def keys(phone: str, name: str) -> dict[str, str]:
    """The search columns the importer would store (name hash worked out once per name)."""
    cols = buyer_columns(phone, "")
    if name not in _NAME_KEYS:
        _NAME_KEYS[name] = buyer_columns("", name)["name_hash"]
    return {**cols, "name_hash": _NAME_KEYS[name]}


async def seed(app, n: int) -> float:  # type: ignore[no-untyped-def]
    rnd = random.Random(1)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    per_day = 3000
    t0 = time.perf_counter()
    for base in range(0, n, CHUNK):
        orders, lines, events, tracking = [], [], [], []
        for i in range(base, min(n, base + CHUNK)):
            day, seq = divmod(i, per_day)
            created = start + timedelta(days=day, seconds=seq * 20)
            no = f"BG{created:%y%m%d}-{seq + 1:04d}"
            cid = str(4 * 10**15 + rnd.randrange(10**15))
            name, phone = rnd.choice(NAMES), f"1{rnd.choice('3589')}{rnd.randrange(10**9):09d}"
            orders.append(dict(id=i + 1, order_no=no, order_no_rev=no[::-1], channel=rnd.choice(["taobao", "jd"]),
                               channel_order_id=cid, channel_order_id_rev=cid[::-1], shop="童趣旗舰店",
                               status="支付成功", status_since=created, flags=[], created_at=created, paid_at=created,
                               updated_at=created, buyer_name=name, **keys(phone, name),
                               province="浙江省", city="杭州市", district="西湖区", address_detail="文三路100号",
                               goods_total_fen=19900, shipping_fen=0, discount_total_fen=0, paid_fen=19900,
                               owner_id="cs01", note="", version=1))
            lines.append(dict(order_id=i + 1, sku="TQ-YRF-120", name="儿童羽绒服 120cm", qty=1, price_fen=19900))
            events.append(dict(order_id=i + 1, at=created, actor="import", source="import", kind="imported",
                               from_state=None, to_state="支付成功", detail={"actor_name": "导入"}))
            number = f"73{10**11 + i:012d}"
            tracking.append(dict(order_id=i + 1, carrier="中通", number=number, number_rev=number[::-1],
                                 created_at=created))
        async with app.db.session() as s:
            await s.execute(insert(Order), orders)
            await s.execute(insert(OrderLine), lines)
            await s.execute(insert(TimelineEvent), events)
            await s.execute(insert(Tracking), tracking)
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

            rows = (await s.execute(select(Order.order_no, Order.phone_last4, Order.buyer_name,
                                           Order.channel_order_id, Tracking.number)
                                    .join(Tracking, Tracking.order_id == Order.id))).all()
        rnd = random.Random(2)
        ask = {"exact": lambda r: r.order_no, "suffix4": lambda r: r.order_no[-4:],
               "phone_last4": lambda r: r.phone_last4, "name": lambda r: r.buyer_name,
               "tracking": lambda r: r.number, "platform_suffix": lambda r: "尾号" + r.channel_order_id[-6:]}
        results: dict[str, list[tuple[float, float]]] = {k: [] for k in ask}
        for _ in range(a.runs):
            for kind in results:
                times = []
                for row in rnd.sample(rows, a.queries):
                    q = ask[kind](row)
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
