"""查 latency over a large SQLite database, per search key.

Seeds N orders (default 1,000,000) with lines, timeline events, tracking numbers and carrier scans
into a migrated file (``--db PATH --reuse`` keeps and reuses a seeded file), then for random
orders asks by every key: exact hub number, hub suffix4, full mobile (by hash), mobile last 4,
masked mobile, buyer name, tracking number (full, suffix 6 and 8), platform id suffix (尾号 + 6
and 8 digits; at 1,000,000 orders 6 digits are usually a short list, 8 one order). Two figures
per key: ``lookup`` is orders.sheet.order_sheet alone (find + load what the answer shows, or the
list of candidates), ``reply`` the whole 查 through the dispatcher (reply text, focus, usage,
collaboration note). Prints p50/p99 (median over runs), the process
CPU time and SQL statements per ask (steadier than wall time on a busy machine); ``--explain``
prints each key's statements with their query plans, ``--profile KIND`` a cProfile of one key.
Seeding uses plain sqlite3 with the indexes built after the load; 1,000,000 orders take minutes."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import figure, median, pct
from bot.dispatch import Dispatcher
from bot.types import Incoming
from config import load_settings
from orders.crypto import encrypt
from orders.db import Database
from orders.errors import AmbiguousOrder
from orders.models import Order
from orders.privacy import hash_phone, hash_text, mask_phone, phone_last4
from orders.sheet import order_sheet
from orders.users import upsert_user

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
NAMES = [s + g for s in SURNAMES for g in ("女士", "先生", "小明", "丽", "伟")]
START = datetime(2025, 1, 1, tzinfo=UTC)
PER_DAY = 3000
BATCH = 20_000
SCANNED_EVERY = 4  # every 4th order has a parcel with two carrier scans


# Every order's keys are a function of its index (nothing to read back when the file is reused).
def created(i: int) -> datetime:
    day, seq = divmod(i, PER_DAY)
    return START + timedelta(days=day, seconds=seq * 20)


def order_no(i: int) -> str:
    seq = i % PER_DAY
    return f"BG{created(i):%y%m%d}-{seq + 1:04d}"


def channel_id(i: int) -> str:
    return str(4 * 10**15 + (i * 2654435761 + 97) % 10**15)  # a bijection: unique per order


def phone(i: int) -> str:
    return f"1{'3589'[i % 4]}{(i * 104729 + 7) % 10**9:09d}"


def name(i: int) -> str:
    return NAMES[(i * 31) % len(NAMES)]


def tracking(i: int) -> str:
    return f"73{10**11 + i:012d}"


def _ts(dt: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite (naive, microseconds)."""
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


def _rows(n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every row to insert, as stored (encrypted once per distinct value, times as text)."""
    sealed_name = {nm: encrypt(nm) for nm in NAMES}
    name_hash = {nm: hash_text("name", nm) for nm in NAMES}
    street = encrypt("文三路100号")
    actor = json.dumps({"actor_name": "导入"})
    for i in range(n):
        at, no, cid, ph, nm, tn = created(i), order_no(i), channel_id(i), phone(i), name(i), tracking(i)
        ts = _ts(at)
        yield "orders", dict(
            id=i + 1, order_no=no, order_no_rev=no[::-1], channel="taobao" if i % 3 else "jd", channel_order_id=cid,
            channel_order_id_rev=cid[::-1], shop="童趣旗舰店", status="已发货", status_since=ts, flags="[]",
            created_at=ts, paid_at=ts, updated_at=ts, buyer_name=sealed_name[nm], phone_masked=mask_phone(ph),
            phone_hash=hash_phone(ph), phone_sealed="", phone_last4=phone_last4(ph), name_hash=name_hash[nm],
            nick_hash="", province="浙江省", city="杭州市", district="西湖区", address_detail=street,
            goods_total_fen=19900, shipping_fen=0, discount_total_fen=0, paid_fen=19900, owner_id="cs01",
            assignee_id=None, note="", version=1, platform_status="", amount_diff_fen=0, staff_note="",
            buyer_id_hash="", buyer_id_sealed="")
        yield "order_lines", dict(order_id=i + 1, sku="TQ-YRF-120", name="儿童羽绒服 120cm", qty=1, price_fen=19900)
        for k, (kind, frm, to) in enumerate((("imported", None, "支付成功"), ("state", "支付成功", "已发货"))):
            yield "timeline_events", dict(order_id=i + 1, at=_ts(at + timedelta(hours=k)), actor="import",
                                          source="import", kind=kind, from_state=frm, to_state=to, detail=actor)
        yield "tracking_numbers", dict(order_id=i + 1, carrier="中通", number=tn, number_rev=tn[::-1],
                                       created_at=_ts(at + timedelta(hours=1)))
        if i % SCANNED_EVERY == 0:
            for k, (place, text) in enumerate((("杭州", "已揽收"), ("上海", "运输中，已到达上海转运中心"))):
                scanned = _ts(at + timedelta(hours=2 + 10 * k))
                yield "carrier_scans", dict(number=tn, company="zhongtong", event_at=scanned, event_time="",
                                            place=place, status="在途", context=text, digest=f"{tn}-{k}",
                                            received_at=scanned)


TABLES = ("orders", "order_lines", "timeline_events", "tracking_numbers", "carrier_scans")  # parents first


def seed(path: Path, n: int) -> float:
    """Plain sqlite3 executemany, a commit per batch, with the tables' indexes dropped during the
    load and built again after it (sorted builds: several times faster than 5 million random
    B-tree inserts). The bench's data, not the importer's path."""
    t0 = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")  # 400 MB
    marks = ",".join("?" * len(TABLES))
    indexes = con.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                          f"AND tbl_name IN ({marks})", TABLES).fetchall()
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    pending: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}

    def flush() -> None:
        con.execute("BEGIN")
        for table, rows in pending.items():
            if rows:
                cols = list(rows[0])
                con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                [tuple(r.values()) for r in rows])
                rows.clear()
        con.execute("COMMIT")

    for table, row in _rows(n):
        pending[table].append(row)
        if len(pending["orders"]) >= BATCH:
            flush()
    flush()
    for _, sql in indexes:
        con.execute(sql)
    con.execute("ANALYZE")
    con.close()
    return n / (time.perf_counter() - t0)


KINDS: dict[str, Callable[[int], str]] = {
    "exact": order_no, "suffix4": lambda i: order_no(i)[-4:], "phone": phone,
    "phone_last4": lambda i: phone(i)[-4:], "phone_masked": lambda i: mask_phone(phone(i)), "name": name,
    "tracking": tracking, "tracking_suffix6": lambda i: tracking(i)[-6:],
    "tracking_suffix8": lambda i: tracking(i)[-8:], "platform_suffix6": lambda i: "尾号" + channel_id(i)[-6:],
    "platform_suffix8": lambda i: "尾号" + channel_id(i)[-8:],
}


class Statements:
    """Counts (and with ``keep``, keeps) the SQL statements an engine runs."""

    def __init__(self, engine: Any) -> None:
        self.n, self.keep, self.seen = 0, False, []  # type: tuple[int, bool, list[tuple[str, Any]]]
        event.listen(engine.sync_engine, "before_cursor_execute", self._on)

    def _on(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self.n += 1
        if self.keep:
            self.seen.append((statement, parameters))


async def lookup(app: Any, q: str) -> str:
    try:
        sheet = await order_sheet(app.orders, q)
        return sheet.order.order_no
    except AmbiguousOrder as e:
        return f"{e.total} orders"


async def explain(app: Any, stmts: Statements, kind: str, q: str) -> None:
    stmts.keep, stmts.seen = True, []
    await lookup(app, q)
    stmts.keep = False
    print(f"--- {kind}: 查 {q} ({len(stmts.seen)} statements)", file=sys.stderr)
    async with app.db.engine.connect() as c:
        for sql, params in stmts.seen:
            plan = (await c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)).all()
            print("  " + " ".join(sql.split())[:160], file=sys.stderr)
            for row in plan:
                print(f"      {row[-1]}", file=sys.stderr)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="50k orders, 200 queries per key: about a minute")
    ap.add_argument("--db", type=Path, help="the SQLite file to seed (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="with --db: keep a file already seeded with --orders")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated keys to ask by")
    ap.add_argument("--explain", action="store_true", help="print each key's statements and query plans")
    ap.add_argument("--profile", metavar="KIND", help="cProfile the reply path of one key (to stderr)")
    a = ap.parse_args()
    if a.quick:
        a.orders, a.queries = 50_000, 200
    import tempfile

    tmp = tempfile.TemporaryDirectory(prefix="orderbot-bench-")
    path = a.db or Path(tmp.name) / "bench.db"
    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    await db.migrate()  # a reused file gets new indexes too
    async with db.session() as s:
        have = await s.scalar(select(func.count()).select_from(Order)) or 0
    await db.dispose()
    rate = None
    if not (a.reuse and have == a.orders):
        if have:
            sys.exit(f"{path} holds {have} orders (not {a.orders}): remove it or pass another --db")
        rate = seed(path, a.orders)
    settings = load_settings(database_url=url, log_level="WARNING", data_dir=Path(tmp.name) / "var")
    from orders.app import build_app

    app = await build_app(settings)
    async with app.db.session() as s:
        await upsert_user(s, app.roles, user_id="cs01", name="李客服", roles=["cs"], department="", now=app.clock.now())
    from handlers import registry

    d = Dispatcher(app, registry)
    stmts = Statements(app.db.engine)
    rnd = random.Random(2)
    kinds = [k for k in a.kinds.split(",") if k]

    async def reply(q: str) -> str:
        out = await d.handle(Incoming(user_id="cs01", kind="text", text=f"查 {q}"))
        assert out and ("订单" in out[0].text or "匹配到多个订单" in out[0].text), (q, out)
        return out[0].text

    if a.explain:
        for kind in kinds:
            await explain(app, stmts, kind, KINDS[kind](rnd.randrange(a.orders)))
    if a.profile:
        prof = cProfile.Profile()
        sample = [KINDS[a.profile](rnd.randrange(a.orders)) for _ in range(a.queries)]
        prof.enable()
        for q in sample:
            await reply(q)
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {k: {"lookup": [], "reply": []} for k in kinds}
    counts: dict[str, dict[str, list[int]]] = {k: {"lookup": [], "reply": []} for k in kinds}
    cpu: dict[str, dict[str, list[float]]] = {k: {"lookup": [], "reply": []} for k in kinds}
    for _ in range(a.runs):
        for kind in kinds:
            for what, call in (("lookup", lambda q: lookup(app, q)), ("reply", reply)):
                times = []
                c0 = time.process_time()
                for i in rnd.sample(range(a.orders), a.queries):
                    q = KINDS[kind](i)
                    before = stmts.n
                    t = time.perf_counter()
                    await call(q)
                    times.append((time.perf_counter() - t) * 1000)
                    counts[kind][what].append(stmts.n - before)
                cpu[kind][what].append((time.process_time() - c0) / a.queries * 1000)
                results[kind][what].append((pct(times, 50), pct(times, 99)))
    await app.close()
    tmp.cleanup()
    figure("orders_seeded", a.orders, "orders")
    if rate is not None:
        figure("seed_rate", round(rate), "orders/s")
    for kind, by in results.items():
        for what, runs in by.items():
            figure(f"query_{kind}_{what}_p50", median([r[0] for r in runs]), "ms")
            figure(f"query_{kind}_{what}_p99", median([r[1] for r in runs]), "ms")
            figure(f"query_{kind}_{what}_cpu", median(cpu[kind][what]), "ms")  # process CPU per ask (all threads)
            figure(f"query_{kind}_{what}_statements", median([float(c) for c in counts[kind][what]]), "statements")


if __name__ == "__main__":
    asyncio.run(main())
