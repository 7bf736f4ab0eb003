"""Three ``orderbot serve`` replicas on one PostgreSQL behind one callback URL, one killed -9 mid-way.

300 encrypted WeCom callbacks are spread round-robin over the three (the client plays the load
balancer), 40 of them WeCom retries of a message sent to a different replica at the same moment;
after 150 callbacks one replica is killed with SIGKILL (a callback it did not answer is retried at
the next replica, as WeCom does). Then: each message was handled once (one reply row each), each
reply delivered once (the only allowed extra delivery: a row the killed replica left in flight,
resent), in each user's order; WeCom's per-member limits held across the replicas together (30 a
minute: a user who got 25 messages just before the test gets 5 more, the rest wait; the hour
window, 1,000, pre-filled to leave 5 for another); and the escalation and the digest that fell due
were sent once although every replica runs the clock.
The fake WeCom API (tests/fakes) records what it was sent. Runs in the PostgreSQL half of the suite."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, text, update

from bot.dispatch import Dispatcher
from bot.testing import ChatBot
from bot.wecom.crypto import CallbackCrypto
from config import load_settings
from orders.app import App, build_app
from orders.due import DueItem
from orders.inbox import InboxMessage
from orders.outbox import OutboxMessage
from orders.processes import ProcessRow
from orders.rate_slots import NEVER, RateSlot
from orders.users import upsert_user
from tests.conftest import PG_TEMPLATE
from tests.fakes.wecom_api import CORP_ID, SECRET, FakeWeCom
from tests.pg import Cluster
from tests.wecom.harness import AES_KEY, AGENT_ID, TOKEN, text_xml
from tests.wecom.test_serve_cli import _free_port

ROOT = Path(__file__).resolve().parents[2]
WORD = re.compile(r"「(w\d+-\d+)」")
CALLBACKS, RETRIES, KILL_AT = 300, 40, 150
HEAVY, HOURLY = "cs01", "boss"  # 10 replies, 25 sends just before: 5 left in the minute; 8 with 5 left in the hour
PLAIN = [f"rep{i:02d}" for i in range(22)]  # 11 messages each
SPAN = 58.0  # seconds: WeCom's minute, less the jitter of arrival times at the fake (a busy test process)
DIGEST = "digests:\n  - name: replica\n    time: \"00:00\"\n    days: mon-sun\n    to:\n      users: [ops01]\n" \
         "    reports: [stuck]\n"


@dataclass
class Replica:
    n: int
    tmp: Path
    url: str
    fake: FakeWeCom
    port: int = field(default_factory=_free_port)
    proc: asyncio.subprocess.Process | None = None
    alive: bool = True

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ORDERBOT_DATABASE_URL": self.url,
               "ORDERBOT_DATA_DIR": str(self.tmp / "var"), "ORDERBOT_CONFIG_DIR": str(self.tmp / "config"),
               "WECOM_CORP_ID": CORP_ID, "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY,
               "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_API_BASE": self.fake.base_url,
               "ORDERBOT_HTTP_PORT": str(self.port), "ORDERBOT_LOG_LEVEL": "WARNING"}
        log = (self.tmp / f"serve{self.n}.log").open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from bot.cli import main; main()", "serve", env=env, stdout=log, stderr=log)

    async def ready(self, http: aiohttp.ClientSession) -> None:
        end = time.monotonic() + 120  # three replicas importing at once on a busy 2-core machine
        while time.monotonic() < end:
            try:
                async with http.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        raise AssertionError(f"replica {self.n} did not come up:\n" + (self.tmp / f"serve{self.n}.log").read_text())


class Balancer:
    """Round-robin over the live replicas; a callback a replica did not answer goes to the next one."""

    def __init__(self, replicas: list[Replica], http: aiohttp.ClientSession,
                 in_flight: Callable[[int], Awaitable[Counter[str]]]) -> None:
        self.replicas, self.http, self.i, self.posted = replicas, http, 0, 0
        self.in_flight, self.left_sending = in_flight, Counter[str]()
        self.acks: list[float] = []
        self.crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
        self.kill_done = asyncio.Event()

    def next(self) -> Replica:
        live = [r for r in self.replicas if r.alive]
        self.i += 1
        return live[self.i % len(live)]

    async def post(self, xml: str) -> None:
        body, sig = self.crypto.encrypt(xml, "nonce", "1769047200")
        for _ in range(5):
            replica = self.next()
            self.posted += 1
            if self.posted == KILL_AT:
                asyncio.get_running_loop().create_task(self.kill(self.replicas[1]))
            try:
                t = time.monotonic()
                async with self.http.post(f"http://127.0.0.1:{replica.port}/wecom/callback", data=body, params={
                        "msg_signature": sig, "timestamp": "1769047200", "nonce": "nonce"}) as r:
                    assert r.status == 200, await r.text()
                    self.acks.append(time.monotonic() - t)
                    return
            except aiohttp.ClientError:  # the killed replica: WeCom retries the callback
                await asyncio.sleep(0.05)
        raise AssertionError("a callback was never answered")

    async def kill(self, victim: Replica) -> None:
        assert victim.proc is not None
        victim.alive = False
        victim.proc.send_signal(signal.SIGSTOP)  # frozen: no new claims, and its peers still see it alive
        self.left_sending = await self.in_flight(victim.proc.pid)
        victim.proc.send_signal(signal.SIGKILL)
        await victim.proc.wait()
        self.kill_done.set()


async def _prepare(url: str, tmp: Path) -> None:
    """Users, an after-sales deadline that is due, and the boss's hour window nearly used up."""
    app = await build_app(load_settings(database_url=url, data_dir=tmp / "var"), migrate=False)
    now = app.clock.now()
    try:
        async with app.db.session() as s:
            for uid in PLAIN:
                await upsert_user(s, app.roles, user_id=uid, name=f"客服{uid[-2:]}", roles=["cs"], department="客服部",
                                  now=now)
        from handlers import registry

        bot = ChatBot(app, Dispatcher(app, registry))
        await bot.say("cs02", "售后 BG260122-0001 退款 10 发错颜色")  # fin01 decides; cslead is the lead
        async with app.db.session() as s:
            res = await s.execute(update(DueItem).where(DueItem.kind == "escalate_lead")
                                  .values(due_at=now - timedelta(minutes=1)))
            assert res.rowcount == 1  # type: ignore[attr-defined]
            s.add_all([RateSlot(family=f"3600:u:{HOURLY}", slot=i, used_at=now - timedelta(minutes=30) if i < 995
                                else NEVER) for i in range(1000)])
    finally:
        await app.close()


def _plan(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """user -> [(word, msgid)] in sending order."""
    counts = {**{u: 11 for u in PLAIN}, HEAVY: 10, HOURLY: 8}
    plan: dict[str, list[tuple[str, str]]] = {}
    n = 0
    for u, k in counts.items():
        for _ in range(k):
            n += 1
            plan.setdefault(u, []).append((f"w{len(plan)}-{n:03d}", f"7{n:018d}"))
    assert sum(counts.values()) + RETRIES == CALLBACKS
    return plan


async def _say(lb: Balancer, user: str, msgs: list[tuple[str, str]], retried: set[str]) -> None:
    for word, msgid in msgs:
        xml = text_xml(user, word, msgid, 1769047200 + int(msgid[-4:]))
        if msgid in retried:  # WeCom's retry of the same MsgId reaches another replica at the same time
            await asyncio.gather(lb.post(xml), lb.post(xml))
        else:
            await lb.post(xml)


async def _sending(app: App, pid: int) -> Counter[str]:
    """Outbox rows a replica holds 'sending', per target: the only ones that may reach WeCom twice
    after a kill, and each may have used a rate slot without a send (its resend takes another)."""
    async with app.db.session() as s:
        victim = await s.scalar(select(ProcessRow.id).where(ProcessRow.pid == pid))
        return Counter((await s.scalars(select(OutboxMessage.target).where(
            OutboxMessage.claimed_by == victim, OutboxMessage.status == "sending"))).all())


async def _fill_minute(app: App, user: str, used: int) -> float:
    """``used`` of the user's 30 minute slots taken now (as sends just before the test); the time."""
    now = datetime.now(UTC)
    async with app.db.session() as s:
        s.add_all([RateSlot(family=f"60:u:{user}", slot=i, used_at=now if i < used else NEVER) for i in range(30)])
    return now.timestamp()


def _window_max(times: list[float], span: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + span) for i, start in enumerate(times)), default=0)


@pytest.mark.timeout(240)
async def test_three_replicas_one_killed_each_message_once(pg_cluster: Cluster, tmp_path: Path) -> None:
    name, url = await pg_cluster.clone(PG_TEMPLATE)
    (tmp_path / "config").mkdir()
    text = (ROOT / "config" / "digests.yaml").read_text()
    (tmp_path / "config" / "digests.yaml").write_text(re.sub(r"(?ms)^digests:.*?^(?=\S)", DIGEST, text, count=1))
    await _prepare(url, tmp_path)
    fake = await FakeWeCom(latency=0.02).start()
    replicas = [Replica(i, tmp_path, url, fake) for i in range(3)]
    app = await build_app(load_settings(database_url=url, data_dir=tmp_path / "var"), migrate=False)
    plan = _plan(random.Random(20))
    everything = [m for msgs in plan.values() for m in msgs]
    retried = {msgid for _, msgid in random.Random(7).sample(everything, RETRIES)}
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(r.start() for r in replicas))
            await asyncio.gather(*(r.ready(http) for r in replicas))
            lb = Balancer(replicas, http, partial(_sending, app))
            t0 = time.monotonic()
            filled = await _fill_minute(app, HEAVY, 25)  # the member got 25 messages just now
            limited = (HEAVY, HOURLY)  # first: their minute starts before the machine is busy with the rest
            await asyncio.gather(*(_say(lb, u, plan[u], retried) for u in limited))
            await asyncio.gather(*(_say(lb, u, msgs, retried) for u, msgs in plan.items() if u not in limited))
            await asyncio.wait_for(lb.kill_done.wait(), 30)
            in_flight = sum(lb.left_sending.values())

            def received() -> dict[str, list[str]]:
                return {u: [m.group(1) for t in fake.texts_to(u) if (m := WORD.search(t))] for u in plan}

            # sends the limits allow now; a row the killed replica held may have used a slot unsent
            cap = {u: 5 - lb.left_sending[u] for u in (HEAVY, HOURLY)}
            words = {u: [w for w, _ in msgs] for u, msgs in plan.items()}

            def done(u: str, got: list[str]) -> bool:
                return len(got) >= cap[u] if u in cap else set(words[u]) <= set(got)

            async def unfinished() -> int:  # the killed replica's claims wait for a peer's replay (every 5 s)
                async with app.db.session() as s:
                    return int(await s.scalar(select(func.count()).select_from(InboxMessage)
                                              .where(InboxMessage.status != "done")) or 0)

            end = time.monotonic() + 60
            while not all(done(u, g) for u, g in received().items()) or await unfinished():
                assert time.monotonic() < end, f"replies missing: { {u: len(g) for u, g in received().items()} }"
                await asyncio.sleep(0.1)
            took = time.monotonic() - t0
            await asyncio.sleep(1.0)  # a late duplicate would show up now
            for r in replicas:
                if r.alive and r.proc is not None:
                    r.proc.send_signal(signal.SIGTERM)
            await asyncio.gather(*(asyncio.wait_for(r.proc.wait(), 30) for r in replicas if r.alive and r.proc))

        got = received()
        async with app.db.session() as s:
            inbox = Counter((await s.scalars(select(InboxMessage.msg_id).where(InboxMessage.user_id.in_(plan)))).all())
            states = Counter((await s.scalars(select(InboxMessage.status))).all())
            replies = (await s.execute(select(OutboxMessage.target, OutboxMessage.status, OutboxMessage.last_error)
                                       .where(OutboxMessage.target.in_(plan)))).all()
            resent = int(await s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.last_error.like("interrupted%"))) or 0)
            markers = (await s.scalars(select(DueItem.done_by).where(DueItem.kind == "digest"))).all()
            digest_rows = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.target == "ops01", OutboxMessage.msgtype == "markdown"))
        # each message stored once and answered once (one reply row each), whatever replica it reached
        assert inbox == Counter(msgid for _, msgid in everything) and set(states) == {"done"}, states
        assert Counter(t for t, _, _ in replies) == Counter({u: len(m) for u, m in plan.items()})
        dups = 0
        for u in plan:
            firsts = list(dict.fromkeys(got[u]))
            want = words[u][:len(firsts)] if u in cap else words[u]
            assert firsts == want, f"{u}: replies out of order or missing: {firsts}"
            dups += len(got[u]) - len(firsts)
        print(f"replicas: {lb.posted} callbacks, all answered {took:.1f} s after the first; {in_flight} sends in "
              f"flight at the kill, {resent} resent, {dups} delivered twice; ack p50 "
              f"{statistics.median(lb.acks) * 1000:.0f} ms, max {max(lb.acks) * 1000:.0f} ms")
        assert dups <= resent <= in_flight, (dups, resent, in_flight)  # only resends of rows caught in flight
        # WeCom's limits across the three replicas together
        wall = time.time() - time.perf_counter()  # the fake stamps arrivals with perf_counter
        heavy = [wall + c.at for c in fake.sent() if HEAVY in c.body["touser"].split("|")]
        # 5 more in the minute of the 25, then the rest wait for the window (a slow machine may reach it)
        assert cap[HEAVY] <= len([t for t in heavy if t < filled + SPAN]) <= 5, sorted(t - filled for t in heavy)
        assert _window_max([filled] * 25 + heavy, SPAN) <= 30, sorted(t - filled for t in heavy)
        assert cap[HOURLY] <= len([c for c in fake.sent() if HOURLY in c.body["touser"].split("|")]) <= 5  # 995 used
        held = Counter(st for t, st, _ in replies if t in cap)  # the rest wait for their window, none lost
        # a capped member's row caught in flight at the kill may have reached WeCom and still be pending:
        # put back by a peer, its resend waits for the member's window
        delivered = sum(len(set(got[u])) for u in cap)
        caught = sum(lb.left_sending[u] for u in cap)
        assert set(held) <= {"sent", "pending"} and held.total() == sum(len(words[u]) for u in cap), held
        assert delivered - caught <= held["sent"] <= delivered, (held, delivered, caught)
        # due once although each replica ran the clock at start
        assert len([t for t in fake.texts_to("fin01") if t.startswith("⏰ 提醒")]) == 1
        assert len([t for t in fake.texts_to("cslead") if "升级" in t]) == 1
        digests = [c for c in fake.sent() if c.body["msgtype"] == "markdown" and c.body["touser"] == "ops01"]
        assert len(markers) == 1 and digest_rows and len(digests) == digest_rows
    finally:
        for r in replicas:
            if r.proc is not None and r.proc.returncode is None:
                r.proc.kill()
                await r.proc.wait()
        await app.close()
        await fake.close()
        await pg_cluster.drop(name)


async def test_replicas_starting_together_on_an_empty_database_migrate_once(pg_cluster: Cluster) -> None:
    """Three replicas started at once on a new database: one migrates and seeds, the others wait
    for it (an advisory lock) and find the schema at head, instead of failing on "already exists"."""
    url = await pg_cluster.create("fresh_replicas")
    try:
        apps = await asyncio.wait_for(asyncio.gather(*(build_app(load_settings(database_url=url)) for _ in range(3))),
                                      120)
        async with apps[0].db.session() as s:
            assert (await s.execute(text("SELECT count(*) FROM alembic_version"))).scalar_one() == 1
        for a in apps:
            await a.close()
    finally:
        await pg_cluster.drop("fresh_replicas")
