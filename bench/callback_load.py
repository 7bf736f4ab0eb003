"""Callback load: 200 concurrent encrypted `查` callbacks over real HTTP, repeated in rounds,
through `orderbot serve` (inbox, dispatcher, outbox worker) to the fake WeCom API on loopback.

Prints ack latency (callback in -> 200 back) and end-to-end latency (callback in -> the reply
arrives at the fake API) p50/p99 as medians over rounds, and messages lost or duplicated.
10 % of the callbacks are sent twice, as WeCom's retries would be. Then a sustained phase: `查`
callbacks offered at `--rate` per second for `--seconds` (open loop, spread over the users);
`messages_per_s` is replies delivered / (last reply - first callback). The server is a separate
`orderbot serve [--workers N]` process (as in production); the load generator and the fake API
share this one. `--quick`: 2 rounds and 10 s sustained."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import callback_xml, free_port, pct, print_latencies, signed_callback, tree_cpu_s
from bench.raw_http import Built, Poster, poster
from bot.wecom.crypto import CallbackCrypto
from config import load_settings
from orders.app import build_app
from orders.models import Order
from orders.seed import seed_demo
from orders.users import upsert_user
from tests.fakes.wecom_api import CORP_ID, SECRET, FakeWeCom

os.environ.setdefault("ORDERBOT_SECRET_KEY", "orderbot-bench-secret")  # serve refuses the demo key
TOKEN = "benchToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def xml(user: str, text: str, msg_id: int, ts: int) -> str:
    return callback_xml(user, text, msg_id, ts, CORP_ID)


def built(http: Poster, crypto: CallbackCrypto, user: str, text: str, msg_id: int, ts: int, nonce: str) -> Built:
    """An encrypted callback as WeCom posts it, ready to send."""
    return http.request(*signed_callback(crypto, xml(user, text, msg_id, ts), nonce))


async def main(concurrency: int, rounds: int, seconds: float, rate: float, workers: int, client: str) -> None:
    from sqlalchemy import select


    tmp = Path(tempfile.mkdtemp(prefix="orderbot-bench-"))
    fake = await FakeWeCom().start()
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp / 'bench.db'}", data_dir=tmp / "var",
                             wecom_corp_id=CORP_ID, wecom_secret=SECRET, wecom_token=TOKEN, wecom_aes_key=AES_KEY,
                             wecom_agent_id=1000002, wecom_api_base=fake.base_url, http_port=free_port())
    app = await build_app(settings)
    await seed_demo(app, n=concurrency)
    users = [f"bench{i:04d}" for i in range(concurrency)]
    # WeCom allows 30 messages a minute per member (the outbox holds back more): <= 25 each when sustained
    loaders = [f"load{i:05d}" for i in range(-(-int(seconds * rate) // 25))]
    async with app.db.session() as s:
        for u in users + loaders:
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
    more = ["--workers", str(workers)] if workers > 1 else []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    server = await asyncio.create_subprocess_exec(sys.executable, *pre, "serve", *more, env=env)
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    base = f"http://127.0.0.1:{settings.http_port}"
    acks: list[list[float]] = []
    e2es: list[list[float]] = []
    lost = dup = 0
    msg_id = 10**17
    http = poster(client, "127.0.0.1", settings.http_port)
    try:
        async with aiohttp.ClientSession() as probe:
            up = time.perf_counter() + 180  # imports and start-up take long on a busy machine
            while True:
                try:
                    async with probe.get(base + "/healthz"):
                        break
                except aiohttp.ClientConnectionError:
                    if server.returncode is not None or time.perf_counter() > up:
                        raise SystemExit("the server did not come up") from None
                    await asyncio.sleep(0.05)
            started_cpu = tree_cpu_s(server.pid)  # imports, migrations check, first sweeps: not per message
            mine = set(users)

            def replies(since: int) -> list[Any]:  # only our users' replies (the scheduler may send digests too)
                return [c for c in fake.sent()[since:] if c.body.get("touser") in mine]

            for rnd in range(rounds):
                before = len(fake.sent())
                jobs = []
                for i, u in enumerate(users):
                    msg_id += 1
                    jobs.append((u, built(http, crypto, u, f"查 {order_nos[i % len(order_nos)]}", msg_id,
                                          1769047200 + rnd, f"n{msg_id}")))
                started: dict[str, float] = {}
                ack: list[float] = []

                async def post(u: str, req: Built, first: bool,
                               started: dict[str, float] = started, ack: list[float] = ack) -> None:
                    if first:
                        started[u] = time.perf_counter()
                    status, took = await http.post(req)
                    assert status == 200, status
                    ack.append(took)

                await asyncio.gather(*(post(u, r, True) for u, r in jobs),
                                     *(post(u, r, False) for u, r in jobs[::10]))  # WeCom-style retries
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
            sustained = await _sustained(http, fake, crypto, loaders, order_nos, msg_id, seconds, rate)
    finally:  # never leave the server behind
        await http.close()
        server.send_signal(signal.SIGTERM)
        await server.wait()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        await fake.close()
    ms = 1000.0
    print(f"run: {rounds} rounds x {concurrency} concurrent callbacks (+10% retried), workers {workers}; "
          f"then {seconds:g} s at {rate:g}/s; {client} client")
    print_latencies(acks, e2es)
    print(f"lost: {lost} messages")
    print(f"duplicated: {dup} messages")
    n, per_s, s_ack, s_e2e, s_lost, s_dup = sustained
    print(f"sustained_sent: {n} messages")
    print(f"messages_per_s: {per_s:.1f} messages/s")
    print(f"sustained_ack_p99: {s_ack * ms:.1f} ms")
    print(f"sustained_end_to_end_p99: {s_e2e * ms:.1f} ms")
    print(f"sustained_lost: {s_lost} messages")
    print(f"sustained_duplicated: {s_dup} messages")
    # CPU per callback answered (both phases; the server's from when it answered /healthz, its
    # start-up printed apart): what the load generator and the fake API take from the same two
    # cores, beside the server's own
    answered = rounds * concurrency * 1.1 + n
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_s = server_cpu.ru_utime + server_cpu.ru_stime
    print(f"server_startup_cpu: {started_cpu:.2f} s")
    print(f"server_cpu_per_message: {(server_s - started_cpu) * 1000 / answered:.2f} ms (after start-up)")
    load_cpu = (cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime) * 1000 / answered
    print(f"load_generator_cpu_per_message: {load_cpu:.2f} ms (load generator and fake WeCom API)")


async def _sustained(http: Poster, fake: FakeWeCom, crypto: CallbackCrypto, users: list[str],
                     order_nos: list[str], msg_id: int, seconds: float,
                     rate: float) -> tuple[int, float, float, float, int, int]:
    """Offer `rate` callbacks a second for `seconds`; (sent, delivered/s, ack p99, e2e p99, lost, doubled)."""
    total = int(seconds * rate)
    if total <= 0:
        return 0, 0.0, 0.0, 0.0, 0, 0
    before = len(fake.sent())
    acks: list[float] = []
    jobs = []
    for i in range(total):
        msg_id += 1
        u = users[i % len(users)]
        jobs.append((u, built(http, crypto, u, f"查 {order_nos[i % len(order_nos)]}", msg_id, 1769050000 + i,
                                f"s{msg_id}")))
    mine = set(users)
    errors = 0

    async def post(req: Built) -> None:
        nonlocal errors
        t = time.perf_counter()
        try:
            status, _ = await http.post(req)
            errors += status != 200
        except (aiohttp.ClientError, OSError):
            errors += 1
        acks.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    tasks = []
    sends: dict[str, list[float]] = {}
    for i, (u, req) in enumerate(jobs):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sends.setdefault(u, []).append(time.perf_counter())
        tasks.append(asyncio.create_task(post(req)))
    await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        got = [c for c in fake.sent()[before:] if c.body.get("touser") in mine]
        if len(got) >= total:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    got = [c for c in fake.sent()[before:] if c.body.get("touser") in mine]
    per_user: dict[str, list[float]] = {}
    for c in got:
        per_user.setdefault(c.body["touser"], []).append(c.at)
    e2e: list[float] = []
    lost = dup = 0
    for u, ts in sends.items():  # a user's replies come in order: the k-th reply answers the k-th send
        arrived = sorted(per_user.get(u, []))
        lost += max(0, len(ts) - len(arrived))
        dup += max(0, len(arrived) - len(ts))
        e2e += [a - t for a, t in zip(arrived, ts, strict=False)]
    last = max((c.at for c in got), default=t0)
    if errors:
        print(f"sustained_errors: {errors} callbacks")
    return total, len(got) / max(last - t0, 1e-9), pct(acks, 99), pct(e2e, 99) if e2e else 0.0, lost, dup


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="2 rounds (under a minute)")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=30.0, help="sustained phase length (0: none)")
    ap.add_argument("--rate", type=float, default=450.0, help="callbacks offered per second when sustained")
    ap.add_argument("--workers", type=int, default=1, help="orderbot serve --workers N")
    ap.add_argument("--client", choices=["raw", "aiohttp"], default="raw",
                    help="the load generator's HTTP client (bench/raw_http.py): raw keep-alive sockets, "
                         "or aiohttp's client as before (bench/raw_http.py has both figures)")
    ap.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite",
                    help="postgresql: N `serve` replicas on one PostgreSQL (bench/callback_replicas.py)")
    ap.add_argument("--replicas", type=int, default=3, help="with --engine postgresql: serve processes")
    ap.add_argument("--db-url", default=None, help="with --engine postgresql: use this database "
                    "(postgresql+asyncpg://…) instead of a throwaway cluster")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.engine == "postgresql":
        from bench.callback_replicas import run as run_replicas

        asyncio.run(run_replicas(args.concurrency, 2 if args.quick else args.rounds, args.replicas, args.db_url,
                                 args.client))
    else:
        asyncio.run(main(args.concurrency, 2 if args.quick else args.rounds, 10.0 if args.quick else args.seconds,
                         args.rate, args.workers, args.client))
