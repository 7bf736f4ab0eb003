"""The PC board over a large SQLite database: page render latency (HTTP on loopback, logged in as a
manager) for 任务墙 / 超时订单 / 风控 / one order / 区域健康 / 客户池 / 协作, and the delay from a real
encrypted WeCom callback to the ``change`` event reaching every one of N open SSE clients.

Prints each page's first request (the analytics pages build their figures then and keep them
5 minutes), p50/p99 per page (median over runs) and the SSE delay p50/p99 over clients × callbacks.
The seed is orders, lines, timeline and tracking (bench/query.py), today's 300 task cards over
n/5 earlier days' cards, 200 risk flags: no parcel facts, customer pool or look-ups, so the
analytics pages here measure the page path, not their builds (bench/analytics.py and
bench/region_health.py time those).
``--db FILE`` keeps the seeded orders for later runs (seeding 1,000,000 takes minutes)."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import delete, func, insert, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import figure, median, pct
from bench.query import seed
from bot.board import add_board_routes
from bot.board.session import SESSION_COOKIE, Signer
from bot.dispatch import Dispatcher
from bot.wecom.crypto import CallbackCrypto
from bot.wecom.processor import InboxProcessor
from bot.wecom.server import create_web_app
from config import load_settings
from orders.app import build_app
from orders.models import Order, TimelineEvent
from orders.users import upsert_user
from orders.warehouse.models import WarehouseTask
from orders.warehouse.tasks import local_day

TOKEN, AES, CORP = "benchToken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wwbench"


class NoWeCom:
    async def user_of_code(self, code: str) -> dict[str, object]:
        return {}


async def extras(app, n: int) -> str:  # type: ignore[no-untyped-def]
    """Today's tasks for 10 temps (300 cards) over n/5 earlier cards, 200 risk-flagged orders (again on a
    reused file)."""
    now = datetime.now(UTC)
    day = local_day(now, app.settings.tz)
    async with app.db.session() as s:
        await s.execute(delete(WarehouseTask))
        await s.execute(delete(TimelineEvent).where(TimelineEvent.kind == "flagged"))
        for i in range(10):
            await upsert_user(s, app.roles, user_id=f"t{i}", name=f"临时{i}", roles=["warehouse_temp"],
                              department="仓储部", now=now)
        await upsert_user(s, app.roles, user_id="boss", name="陈总", roles=["manager"], department="", now=now)
        history = min(n // 5, 200_000)  # earlier days' packed cards (1,000 a day): the wall reads today's only
        past = [now - timedelta(days=1 + d) for d in range(history // 1000 + 1)]
        await s.execute(insert(WarehouseTask), [dict(order_id=i + 1, assignee_id=f"t{i % 10}", assigned_by="bench",
                                                     day=local_day(past[i // 1000], app.settings.tz), state="packed",
                                                     wrong_scans=0, assigned_at=past[i // 1000])
                                                for i in range(history)])
        await s.execute(insert(WarehouseTask), [dict(order_id=n - i, assignee_id=f"t{i % 10}", assigned_by="bench",
                                                     day=day, state=random.choice(["assigned", "picking", "packed"]),
                                                     wrong_scans=0, assigned_at=now - timedelta(minutes=i))
                                                for i in range(300)])
        ids = random.Random(3).sample(range(1, n - 400), 200)
        await s.execute(update(Order).where(Order.id.in_(ids)).values(flags=["疑似刷单"]))
        await s.execute(insert(TimelineEvent), [dict(order_id=i, at=now, actor="system", source="import",
                                                     kind="flagged", detail={"flag": "疑似刷单", "group": []})
                                                for i in ids])
        sample = await s.scalar(select(Order.order_no).where(Order.id == n // 2))
    return str(sample)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--callbacks", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="50k orders, fewer requests: under a minute")
    ap.add_argument("--db", type=Path, help="SQLite file to keep the seeded orders in: seeded on the first run, "
                                            "reused by later runs with the same --orders (seeding 1M takes minutes)")
    a = ap.parse_args()
    if a.quick:
        a.orders, a.requests, a.callbacks = 50_000, 60, 5
    with tempfile.TemporaryDirectory() as tmp:
        db = a.db or Path(tmp) / "bench.db"
        settings = load_settings(database_url=f"sqlite+aiosqlite:///{db}", log_level="WARNING",
                                 secret_key="bench-secret", wecom_token=TOKEN, wecom_aes_key=AES, wecom_corp_id=CORP,
                                 data_dir=Path(tmp) / "var")
        app = await build_app(settings)
        async with app.db.session() as s:
            await upsert_user(s, app.roles, user_id="cs01", name="李客服", roles=["cs"], department="",
                              now=app.clock.now())
            have = await s.scalar(select(func.count()).select_from(Order))
        if have not in (0, a.orders):
            raise SystemExit(f"{db} holds {have} orders, not {a.orders}: remove it or pass --orders {have}")
        if not have:
            seed(db, a.orders)  # plain sqlite3 into the migrated file
        sample = await extras(app, a.orders)
        from handlers import registry

        dispatcher = Dispatcher(app, registry)
        processor = InboxProcessor(app, dispatcher)
        web_app = create_web_app(app, dispatcher, processor=processor,
                                 extra_routes=[lambda w: add_board_routes(w, app, NoWeCom())])
        runner = web.AppRunner(web_app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        cookie = {SESSION_COOKIE: Signer("bench-secret", 3600).new_session("boss")}
        pages = {"tasks": "/board/tasks", "overdue": "/board/overdue", "overdue_shop": "/board/overdue?shop=另一家店",
                 "risk": "/board/risk",
                 "order": f"/board/order/{sample}", "regions": "/board/regions", "customers": "/board/customers",
                 "collab": "/board/collab"}
        results: dict[str, list[tuple[float, float]]] = {k: [] for k in pages}
        cold: dict[str, float] = {}
        async with aiohttp.ClientSession(cookies=cookie) as http:
            for name, path in pages.items():  # the first request of each page (analytics: builds its figures)
                t = time.perf_counter()
                async with http.get(base + path) as r:
                    assert r.status == 200, (path, r.status)
                    await r.read()
                cold[name] = (time.perf_counter() - t) * 1000
            for _ in range(a.runs):
                for name, path in pages.items():
                    times = []
                    for _ in range(a.requests):
                        t = time.perf_counter()
                        async with http.get(base + path) as r:
                            assert r.status == 200, (path, r.status)
                            await r.read()
                        times.append((time.perf_counter() - t) * 1000)
                    results[name].append((pct(times, 50), pct(times, 99)))
            delays = await sse_delays(base, cookie, a.clients, a.callbacks)
        await runner.cleanup()
        await app.close()
    figure("orders_seeded", a.orders, "orders")
    for name, runs in results.items():
        figure(f"page_{name}_first", cold[name], "ms")
        figure(f"page_{name}_p50", median([r[0] for r in runs]), "ms")
        figure(f"page_{name}_p99", median([r[1] for r in runs]), "ms")
    figure("sse_clients", a.clients, "clients")
    figure("sse_delay_p50", pct(delays, 50), "ms")
    figure("sse_delay_p99", pct(delays, 99), "ms")


async def sse_delays(base: str, cookie: dict[str, str], clients: int, callbacks: int) -> list[float]:
    """Open ``clients`` SSE streams; per callback, ms until each stream sees its ``change`` event."""
    crypto = CallbackCrypto(TOKEN, AES, CORP)
    seen: list[asyncio.Queue[float]] = [asyncio.Queue() for _ in range(clients)]
    conn = aiohttp.TCPConnector(limit=clients + 10)
    sessions = aiohttp.ClientSession(cookies=cookie, connector=conn, timeout=aiohttp.ClientTimeout(total=None))

    async def listen(q: asyncio.Queue[float]) -> None:
        async with sessions.get(f"{base}/board/events") as r:
            async for line in r.content:
                if line.startswith(b"event: change"):
                    q.put_nowait(time.perf_counter())

    tasks = [asyncio.create_task(listen(q)) for q in seen]
    await asyncio.sleep(1.0)
    delays: list[float] = []
    run = time.time_ns() // 1000  # fresh message ids: a reused --db file has the last run's in its inbox
    async with aiohttp.ClientSession() as poster:
        for i in range(callbacks):
            xml = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[cs01]]></FromUserName>"
                   f"<CreateTime>{1769047200 + i}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                   f"<Content><![CDATA[帮助]]></Content><MsgId>{run + i}</MsgId><AgentID>1</AgentID></xml>")
            body, sig = crypto.encrypt(xml, "n0nce", "1769047200")
            t0 = time.perf_counter()
            async with poster.post(f"{base}/wecom/callback", data=body,
                                   params={"msg_signature": sig, "timestamp": "1769047200", "nonce": "n0nce"}) as r:
                assert r.status == 200
            got = await asyncio.wait_for(asyncio.gather(*(q.get() for q in seen)), 10)
            delays += [(t - t0) * 1000 for t in got]
            await asyncio.sleep(0.3)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await sessions.close()
    return delays


if __name__ == "__main__":
    asyncio.run(main())
