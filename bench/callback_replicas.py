"""Callback load on PostgreSQL with N replicas (``bench/callback_load.py --engine postgresql
--replicas 3``): N ``orderbot serve`` processes on one database behind one callback URL. Each round
sends C concurrent encrypted `查` callbacks spread round-robin over the replicas; 10 % are sent
twice, the retry reaching the next replica (as WeCom's retries may). Replies arrive at the fake
WeCom API on loopback. Prints ack and end-to-end p50/p99 (median over rounds), messages/s (the
round's replies over the time from its first callback to its last reply, median), lost and
doubled (each reply matched to its message by user and order number, over the whole run, after
waiting for late replies). Without ``--db-url`` a throwaway cluster is started (tests/pg.py: Debian's initdb +
pg_ctl in a temporary folder) and stopped at the end."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common import callback_xml, free_port, print_latencies, signed_callback
from bench.raw_http import Built, Poster, poster
from bot.wecom.crypto import CallbackCrypto
from config import load_settings
from orders.app import build_app
from orders.models import Order
from orders.seed import seed_demo
from orders.users import upsert_user
from tests.fakes.wecom_api import CORP_ID, SECRET, FakeWeCom

os.environ.setdefault("ORDERBOT_SECRET_KEY", "orderbot-bench-secret")  # encryption at rest, as in tests
TOKEN = "benchToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@asynccontextmanager
async def database(url: str | None) -> AsyncIterator[str]:
    """``url`` as given, or a fresh database on a throwaway cluster (stopped afterwards)."""
    if url:
        yield url
        return
    from tests.pg import Cluster

    cluster = Cluster(Path(tempfile.mkdtemp(prefix="orderbot-bench-pg-"))).start()
    try:
        yield await cluster.create("bench")
    finally:
        cluster.stop()


def _xml(user: str, text: str, msg_id: int, ts: int) -> str:
    return callback_xml(user, text, msg_id, ts, CORP_ID)


@dataclass
class Round:
    acks: list[float]
    e2e: list[float]  # replies that arrived within the round's 2 minutes
    rate: float


async def _start(n: int, url: str, tmp: Path, fake: FakeWeCom) -> tuple[list[asyncio.subprocess.Process], list[int]]:
    ports = [free_port() for _ in range(n)]
    procs = []
    for i, port in enumerate(ports):
        env = {**os.environ, "ORDERBOT_DATABASE_URL": url, "ORDERBOT_DATA_DIR": str(tmp / "var"),
               "WECOM_CORP_ID": CORP_ID, "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY,
               "WECOM_AGENT_ID": "1000002", "WECOM_API_BASE": fake.base_url, "ORDERBOT_HTTP_PORT": str(port),
               "ORDERBOT_LOG_LEVEL": "WARNING"}
        log = (tmp / f"serve{i}.log").open("ab")
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from bot.cli import main; main()", "serve", env=env, stdout=log, stderr=log))
    return procs, ports


async def _ready(http: aiohttp.ClientSession, port: int, proc: asyncio.subprocess.Process) -> None:
    for _ in range(2400):
        if proc.returncode is not None:
            raise RuntimeError(f"serve on port {port} exited ({proc.returncode}); see serve*.log")
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"serve on port {port} did not come up")


async def run(concurrency: int, rounds: int, replicas: int, db_url: str | None, client: str = "raw") -> None:
    from sqlalchemy import select

    tmp = Path(tempfile.mkdtemp(prefix="orderbot-bench-"))
    async with database(db_url) as url:
        settings = load_settings(database_url=url, data_dir=tmp / "var")
        app = await build_app(settings)
        await seed_demo(app, n=concurrency)
        users = [f"bench{i:04d}" for i in range(concurrency)]
        async with app.db.session() as s:
            for u in users:
                await upsert_user(s, app.roles, user_id=u, name=f"压测{u[-4:]}", roles=["cs"], department="客服部",
                                  now=app.clock.now())
            order_nos = list((await s.scalars(select(Order.order_no).limit(concurrency))).all())
        await app.close()
        fake = await FakeWeCom().start()
        procs, ports = await _start(replicas, url, tmp, fake)
        posters = {port: poster(client, "127.0.0.1", port) for port in ports}
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                await asyncio.gather(*(_ready(http, port, p) for port, p in zip(ports, procs, strict=True)))
                sent: dict[tuple[str, str], float] = {}
                results = [await _round(posters, fake, ports, users, order_nos, r, sent) for r in range(rounds)]
                lost, doubled = await _tally(fake, sent)
        finally:
            for each in posters.values():
                await each.close()
            for p in procs:
                if p.returncode is None:
                    p.send_signal(signal.SIGTERM)
            await asyncio.gather(*(p.wait() for p in procs))
            await fake.close()
    print(f"run: {rounds} rounds x {concurrency} concurrent callbacks (+10% retried at another replica), "
          f"{replicas} replicas on PostgreSQL; {client} client")
    print_latencies((r.acks for r in results), (r.e2e for r in results))
    print(f"messages_per_s: {statistics.median(r.rate for r in results):.1f} messages/s")
    print(f"lost: {lost} messages")
    print(f"doubled: {doubled} messages")


async def _round(posters: dict[int, Poster], fake: FakeWeCom, ports: list[int], users: list[str],
                 order_nos: list[str], rnd: int, sent: dict[tuple[str, str], float]) -> Round:
    """One round: each user asks for a different order than in other rounds, so a late reply is
    matched to its own message (not taken for a double of the next round's)."""
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    jobs = []
    for i, u in enumerate(users):
        msg_id = 10**17 + rnd * 100_000 + i
        order_no = order_nos[(i + rnd) % len(order_nos)]
        target, body = signed_callback(crypto, _xml(u, f"查 {order_no}", msg_id, 1769047200 + rnd), f"n{msg_id}")
        first, retry = ports[i % len(ports)], ports[(i + 1) % len(ports)]  # a retry reaches the next replica
        jobs.append((u, order_no, posters[first].request(target, body), first, posters[retry].request(target, body),
                     retry))
    acks: list[float] = []

    async def post(u: str, order_no: str, req: Built, port: int, first: bool) -> None:
        if first:
            sent[(u, order_no)] = time.perf_counter()
        status, took = await posters[port].post(req)
        assert status == 200, status
        acks.append(took)

    t_first = time.perf_counter()
    mine = {(u, o) for u, o, *_ in jobs}
    await asyncio.gather(*(post(u, o, req, port, True) for u, o, req, port, _, _ in jobs),
                         *(post(u, o, req, port, False) for u, o, _, _, req, port in jobs[::10]))
    deadline = time.perf_counter() + 120
    firsts: dict[tuple[str, str], float] = {}
    while time.perf_counter() < deadline:
        firsts = _firsts(fake, mine)
        if len(firsts) == len(mine):
            break
        await asyncio.sleep(0.05)
    e2e = [t - sent[k] for k, t in firsts.items()]
    last = max(firsts.values(), default=time.perf_counter())
    return Round(acks=acks, e2e=e2e, rate=len(firsts) / max(last - t_first, 1e-6), )


def _replies(fake: FakeWeCom, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[float]]:
    """Arrival times of the replies to each (user, order number) asked."""
    by_user: dict[str, list[str]] = {}
    for u, o in keys:
        by_user.setdefault(u, []).append(o)
    out: dict[tuple[str, str], list[float]] = {}
    for c in fake.sent():
        u = c.body.get("touser")
        if u not in by_user:
            continue
        text = json.dumps(c.body, ensure_ascii=False)
        for o in by_user[u]:
            if o in text:
                out.setdefault((u, o), []).append(c.at)
    return out


def _firsts(fake: FakeWeCom, keys: set[tuple[str, str]]) -> dict[tuple[str, str], float]:
    return {k: min(ts) for k, ts in _replies(fake, keys).items()}


async def _tally(fake: FakeWeCom, sent: dict[tuple[str, str], float]) -> tuple[int, int]:
    """Lost and doubled over the whole run, after waiting (up to 2 minutes) for late replies."""
    keys = set(sent)
    deadline = time.perf_counter() + 120
    while len(_replies(fake, keys)) < len(keys) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # late duplicates would show up now
    got = _replies(fake, keys)
    return len(keys) - len(got), sum(len(ts) - 1 for ts in got.values())
