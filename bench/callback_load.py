"""Callback load: 200 concurrent encrypted `查` callbacks over real HTTP, repeated in rounds,
through `orderbot serve` (inbox, dispatcher, outbox worker) to the fake WeCom API on loopback.

Prints ack latency (callback in -> 200 back) and end-to-end latency (callback in -> the reply
arrives at the fake API) p50/p99 as medians over rounds, and messages lost or duplicated.
10 % of the callbacks are sent twice, as WeCom's retries would be. The server is a separate
`orderbot serve` process (as in production); the load generator and the fake API share this one.
`--quick`: fewer rounds."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.wecom.crypto import CallbackCrypto
from config import load_settings
from orders.app import build_app
from orders.models import Order
from orders.seed import seed_demo
from orders.users import upsert_user
from tests.fakes.wecom_api import CORP_ID, SECRET, FakeWeCom

TOKEN = "benchToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def xml(user: str, text: str, msg_id: int, ts: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


async def main(concurrency: int, rounds: int) -> None:
    from sqlalchemy import select


    tmp = Path(tempfile.mkdtemp(prefix="orderbot-bench-"))
    fake = await FakeWeCom().start()
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp / 'bench.db'}", data_dir=tmp / "var",
                             wecom_corp_id=CORP_ID, wecom_secret=SECRET, wecom_token=TOKEN, wecom_aes_key=AES_KEY,
                             wecom_agent_id=1000002, wecom_api_base=fake.base_url, http_port=free_port())
    app = await build_app(settings)
    await seed_demo(app, n=concurrency)
    users = [f"bench{i:04d}" for i in range(concurrency)]
    async with app.db.session() as s:
        for u in users:
            await upsert_user(s, app.roles, user_id=u, name=f"压测{u[-4:]}", roles=["cs"], department="客服部",
                              now=app.clock.now())
        order_nos = list((await s.scalars(select(Order.order_no).limit(concurrency))).all())
    await app.close()
    env = {**os.environ, "ORDERBOT_DATABASE_URL": settings.database_url, "ORDERBOT_DATA_DIR": str(tmp / "var"),
           "WECOM_CORP_ID": CORP_ID, "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY,
           "WECOM_AGENT_ID": "1000002", "WECOM_API_BASE": fake.base_url, "ORDERBOT_HTTP_PORT": str(settings.http_port),
           "ORDERBOT_LOG_LEVEL": "WARNING"}
    prof = os.environ.get("BENCH_PROFILE")  # a file: profile the server with cProfile
    pre = ["-m", "cProfile", "-o", prof, "-m", "bot.cli"] if prof else ["-c", "from bot.cli import main; main()"]
    server = await asyncio.create_subprocess_exec(sys.executable, *pre, "serve", env=env)
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    base = f"http://127.0.0.1:{settings.http_port}"
    acks: list[list[float]] = []
    e2es: list[list[float]] = []
    lost = dup = 0
    msg_id = 10**17
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        for _ in range(400):
            try:
                async with http.get(base + "/healthz"):
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        mine = set(users)

        def replies(since: int) -> list[Any]:  # only our users' replies (the scheduler may send digests too)
            return [c for c in fake.sent()[since:] if c.body.get("touser") in mine]

        for rnd in range(rounds):
            before = len(fake.sent())
            jobs = []
            for i, u in enumerate(users):
                msg_id += 1
                body, sig = crypto.encrypt(xml(u, f"查 {order_nos[i % len(order_nos)]}", msg_id, 1769047200 + rnd),
                                           f"n{msg_id}", "1769047200")
                jobs.append((u, body, {"msg_signature": sig, "timestamp": "1769047200", "nonce": f"n{msg_id}"}))
            started: dict[str, float] = {}
            ack: list[float] = []

            async def post(u: str, body: bytes, params: dict[str, str], first: bool,
                           started: dict[str, float] = started, ack: list[float] = ack) -> None:
                t0 = time.perf_counter()
                if first:
                    started[u] = t0
                async with http.post(base + "/wecom/callback", data=body, params=params) as r:
                    await r.read()
                    assert r.status == 200, r.status
                ack.append(time.perf_counter() - t0)

            await asyncio.gather(*(post(u, b, p, True) for u, b, p in jobs),
                                 *(post(u, b, p, False) for u, b, p in jobs[::10]))  # WeCom-style retries
            deadline = time.perf_counter() + 60
            while len(replies(before)) < len(users) and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # late duplicates would show up here
            calls = replies(before)
            per_user: dict[str, list[float]] = {}
            for c in calls:
                per_user.setdefault(c.body["touser"], []).append(c.at)
            e2e = [min(ts) - started[u] for u, ts in per_user.items() if u in started]
            lost += len(users) - len(per_user)
            dup += sum(len(ts) - 1 for ts in per_user.values())
            acks.append(ack)
            e2es.append(e2e)
    server.send_signal(signal.SIGTERM)
    await server.wait()
    await fake.close()
    ms = 1000.0
    print(f"run: {rounds} rounds x {concurrency} concurrent callbacks (+10% retried)")
    print(f"ack_p50: {statistics.median(pct(a, 50) for a in acks) * ms:.1f} ms")
    print(f"ack_p99: {statistics.median(pct(a, 99) for a in acks) * ms:.1f} ms")
    print(f"end_to_end_p50: {statistics.median(pct(e, 50) for e in e2es) * ms:.1f} ms")
    print(f"end_to_end_p99: {statistics.median(pct(e, 99) for e in e2es) * ms:.1f} ms")
    print(f"lost: {lost} messages")
    print(f"duplicated: {dup} messages")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="2 rounds (under a minute)")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite",
                    help="postgresql: N `serve` replicas on one PostgreSQL (bench/callback_replicas.py)")
    ap.add_argument("--replicas", type=int, default=3, help="with --engine postgresql: serve processes")
    ap.add_argument("--db-url", default=None, help="with --engine postgresql: use this database "
                    "(postgresql+asyncpg://…) instead of a throwaway cluster")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.engine == "postgresql":
        from bench.callback_replicas import run as run_replicas

        asyncio.run(run_replicas(args.concurrency, 2 if args.quick else args.rounds, args.replicas, args.db_url))
    else:
        asyncio.run(main(args.concurrency, 2 if args.quick else args.rounds))
