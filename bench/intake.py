"""Intake bench: N orders mixed across channels (platform API payloads) through the adapters and
the importer (orders, lines, discount ledger, timeline; brushing check on) into a fresh SQLite file;
then the export-file path: a 抖店 XLSX as the back end gives it (one row per 子订单, a third of the
orders with two, discount and bearer columns) detected, read, grouped and imported.

    python bench/intake.py            # 200,000 orders; a 28,000-order Douyin XLSX
    python bench/intake.py --quick    # 20,000 orders, median of 3 runs; a 2,800-order XLSX (median of 3)
    python bench/intake.py --quick --engine postgresql   # the same on a throwaway PostgreSQL cluster

Prints `figure: value unit` lines: orders/s end to end (payloads adapted while the importer writes
the previous batch), the adapt-only and import-only rates, the database's own rate for the same rows
written straight (the ceiling for the others), the export file's orders/s (read + map, and end to
end with the import), and peak RSS."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import ConfigDir
from orders.base import table
from orders.clock import ManualClock
from orders.db import Database
from orders.intake import interpreter
from orders.intake.brushing import BrushingRule
from orders.intake.bulk import write_tuples
from orders.intake.channels import Channels
from orders.intake.importer import BATCH, SQLITE_CACHE_KB, Importer
from orders.models import Discount, Order, OrderLine, TimelineEvent
from orders.workflow import WorkflowDef, WorkflowRegistry
from tests.fakes import payloads as P

MAKERS: dict[str, Callable[..., dict[str, Any]]] = {
    "taobao": P.taobao, "pdd": P.pdd, "douyin": P.douyin, "jd": P.jd, "youzan": P.youzan}


def payloads(n: int) -> list[tuple[str, dict[str, Any]]]:
    rnd = random.Random(5)
    out = []
    names = list(MAKERS)
    for i in range(n):
        ch = names[i % len(names)]
        at = P.T0 - timedelta(seconds=rnd.randint(0, 86400 * 3))
        kw: dict[str, Any] = {"at": at}
        if ch != "pdd":
            kw["phone"] = f"1{rnd.choice('3589')}{rnd.randint(10**8, 10**9 - 1)}"
        out.append((ch, MAKERS[ch](f"{ch[:2].upper()}{i:08d}", **kw)))
    return out


class Engine:
    """Fresh databases for the runs: SQLite files, or PostgreSQL databases (a throwaway cluster
    like tests/pg.py, or a server given by URL), each cloned from one migrated template."""

    def __init__(self, spec: str, folder: Path) -> None:
        self.spec, self.folder, self.n = spec, folder, 0
        self.cluster: Any = None
        self.admin = ""

    @property
    def name(self) -> str:
        return "sqlite" if self.spec == "sqlite" else "postgresql"

    async def start(self) -> None:
        if self.spec == "sqlite":
            await self._migrate(f"sqlite+aiosqlite:///{self.folder}/template.db")
            return
        if self.spec == "postgresql":
            from tests.pg import Cluster

            self.cluster = Cluster(Path(tempfile.mkdtemp(prefix="orderbot-bench-pg-"))).start()
            self.admin = self.cluster.dsn()
        else:
            self.admin = self.spec.replace("postgresql+asyncpg://", "postgresql://")
        await self._pg("DROP DATABASE IF EXISTS bench_template WITH (FORCE)", "CREATE DATABASE bench_template")
        await self._migrate(self._url("bench_template"))

    async def fresh(self) -> str:
        self.n += 1
        if self.spec == "sqlite":
            path = self.folder / f"run{self.n}.db"
            shutil.copyfile(self.folder / "template.db", path)
            return f"sqlite+aiosqlite:///{path}"
        name = f"bench_run{self.n}"
        await self._pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                       f"CREATE DATABASE {name} TEMPLATE bench_template")
        return self._url(name)

    async def stop(self) -> None:
        if self.spec not in ("sqlite", "postgresql"):
            await self._pg(*[f"DROP DATABASE IF EXISTS bench_run{i} WITH (FORCE)" for i in range(1, self.n + 1)],
                           "DROP DATABASE IF EXISTS bench_template WITH (FORCE)")
        if self.cluster is not None:
            self.cluster.stop()

    def _url(self, db: str) -> str:
        return self.admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + db

    async def _pg(self, *sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin)
        try:
            for q in sql:
                await conn.execute(q)
        finally:
            await conn.close()

    @staticmethod
    async def _migrate(url: str) -> None:
        db = Database(url)
        await db.migrate()
        await db.dispose()


def importer(db: Database, channels: Channels) -> Importer:
    cfg = ConfigDir()
    return Importer(db, ManualClock(datetime(2026, 1, 22, 4, tzinfo=UTC)),
                    WorkflowRegistry(WorkflowDef.from_dict(cfg.load("workflow"))), "Asia/Shanghai",
                    brushing_rule=BrushingRule.from_config(channels.raw.get("brushing")))


TABLES = (Order, OrderLine, Discount, TimelineEvent)


async def stored_rows(url: str) -> list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """Each table's columns and rows (by id) as the driver returns them: what the database took."""
    db = Database(url)
    out = []
    async with db.session() as s:
        conn = await s.connection()
        for model in TABLES:
            cols = tuple(c.name for c in table(model).columns)
            res = await conn.exec_driver_sql(f"SELECT {', '.join(cols)} FROM {table(model).name} ORDER BY id")
            # JSON back as text (SQLAlchemy's asyncpg codecs decode it), as the importer writes it
            out.append((cols, [tuple(json.dumps(v) if isinstance(v, list | dict) else v for v in r) for r in res]))
    await db.dispose()
    return out


async def write_floor(url: str, stored: list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]) -> float:
    """Orders/s at which the database takes ``stored`` (an import's rows) written straight into
    ``url``: per BATCH (2,000) orders one transaction with one bulk write per table, by the importer's own
    writer (SQLite multi-row VALUES, PostgreSQL COPY). No adapting, validating, row building,
    numbering or brushing check: the ceiling of the import's rates on this engine and machine."""
    (ocols, orders), *children = stored
    batches: list[list[list[tuple[Any, ...]]]] = [[orders[i:i + BATCH]] for i in range(0, len(orders), BATCH)]
    key = ocols.index("id")
    batch_of = {o[key]: k // BATCH for k, o in enumerate(orders)}
    for cols, rows in children:
        at = cols.index("order_id")
        parts: list[list[tuple[Any, ...]]] = [[] for _ in batches]
        for r in rows:
            parts[batch_of[r[at]]].append(r)
        for b, part in zip(batches, parts, strict=True):
            b.append(part)
    db = Database(url)
    t0 = time.perf_counter()
    for b in batches:
        async with db.session() as s:
            if db.is_sqlite:  # as the importer does
                await s.execute(text(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}"))
            for model, (cols, _), rows in zip(TABLES, stored, b, strict=True):
                await write_tuples(s, table(model), cols, rows)
    rate = len(orders) / (time.perf_counter() - t0)
    async with db.session() as s:
        for model, (_, rows) in zip(TABLES, stored, strict=True):
            assert await s.scalar(select(func.count()).select_from(model)) == len(rows), model
    await db.dispose()
    return rate


async def run(engine: Engine, n: int, runs: int) -> None:
    data = payloads(n)
    channels = Channels.load(ConfigDir(), "Asia/Shanghai")
    adapt, write, total, row_rates, floor = [], [], [], [], []
    cpu: dict[str, list[float]] = {"adapt": [], "import": [], "intake": []}
    rows = 0
    for _ in range(runs):
        # adapt alone, then the import alone of what it made, then both streamed (the importer
        # reads the next batch while the last is written), each into a fresh database
        t0, c0 = time.perf_counter(), time.process_time()
        # under the interpreter settings of an import: every caller's adapters run inside one
        # (import_parsed consumes their iterator); outside them, the collector's full passes over
        # the growing list of results were half of this time
        with interpreter.tuned_for_import():
            parsed = [(i, channels.adapt(ch, p, "bench")) for i, (ch, p) in enumerate(data, 1)]
        adapt.append(n / (time.perf_counter() - t0))
        cpu["adapt"].append(n / (time.process_time() - c0))
        db = Database(await engine.fresh())
        t0, c0 = time.perf_counter(), time.process_time()
        rep = await importer(db, channels).import_parsed(parsed)
        t1 = time.perf_counter()
        cpu["import"].append(n / (time.process_time() - c0))
        assert rep.added == n and not rep.rejects, rep.summary()
        write.append(n / (t1 - t0))
        async with db.session() as s:
            rows = 0
            for model in (Order, OrderLine, Discount, TimelineEvent):
                rows += int(await s.scalar(select(func.count()).select_from(model)) or 0)
        row_rates.append(rows / (t1 - t0))
        await db.dispose()
        del parsed
        floor.append(await write_floor(await engine.fresh(), await stored_rows(db.url)))
        db = Database(await engine.fresh())
        t0, c0 = time.perf_counter(), time.process_time()
        rep = await importer(db, channels).import_parsed(
            (i, channels.adapt(ch, p, "bench")) for i, (ch, p) in enumerate(data, 1))
        total.append(n / (time.perf_counter() - t0))
        cpu["intake"].append(n / (time.process_time() - c0))
        assert rep.added == n and not rep.rejects, rep.summary()
        await db.dispose()
    med = statistics.median
    print(f"engine: {engine.name}")
    print(f"orders: {n} orders (median of {runs} runs)")
    print(f"intake_rate: {med(total):.0f} orders/s (payloads adapted and imported in one stream)")
    print(f"adapt_rate: {med(adapt):.0f} orders/s (channel adapters + validation alone)")
    print(f"import_rate: {med(write):.0f} orders/s (import alone of adapted orders)")
    print(f"write_floor_rate: {med(floor):.0f} orders/s (the same rows written straight, 2,000 orders per "
          "transaction: the database's own ceiling)")
    for k, v in cpu.items():  # CPU seconds of this process (all its threads; not a PostgreSQL server's)
        print(f"{k}_cpu_rate: {med(v):.0f} orders per CPU-second of the bench process")
    print(f"rows_written: {rows} rows (orders, lines, discount ledger, timeline)")
    print(f"row_rate: {med(row_rates):.0f} rows/s")
    print(f"peak_rss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


DOUYIN_HEADER = ["主订单编号", "子订单编号", "选购商品", "商品数量", "商品ID", "商家编码", "商品单价", "订单应付金额",
                 "运费", "平台优惠", "商家优惠", "达人优惠", "平台实际承担优惠金额", "商家实际承担优惠金额",
                 "达人实际承担优惠金额", "收件人", "收件人手机号", "省", "市", "区", "街道", "订单提交时间",
                 "支付完成时间", "订单状态"]


def douyin_xlsx(path: Path, n: int) -> int:
    """A 抖店 export of ``n`` orders (every third with two 子订单), written as the back end does."""
    from openpyxl import Workbook

    rnd = random.Random(7)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("订单")
    ws.append(DOUYIN_HEADER)
    rows = 0
    t0 = datetime(2026, 1, 21, 8, 0)
    for i in range(n):
        at = t0 + timedelta(seconds=rnd.randint(0, 86400))
        phone = f"1{rnd.choice('3589')}{rnd.randint(10**8, 10**9 - 1)}"
        lines = [("TQ-YRF-120", "儿童羽绒服", 1, 199.0, 20.0, 10.0, 5.0)]
        if i % 3 == 0:
            lines.append(("TQ-WY-110", "加绒卫衣", 2, 79.5, 0.0, 9.0, 0.0))
        for j, (sku, name, qty, price, plat, shop, talent) in enumerate(lines):
            pay = round(price * qty - plat - shop - talent, 2)
            ws.append([f"\t69{i:016d}", f"\t69{i:016d}{j}", name, qty, str(3600000 + j), sku, price, pay, 0, plat,
                       shop, talent, plat, shop, talent, "吴九", phone, "湖北省", "武汉市", "洪山区", "珞喻路1号", at,
                       at + timedelta(seconds=10), "待发货"])
            rows += 1
    wb.save(path)
    return rows


async def run_export(engine: Engine, n: int, runs: int) -> None:
    parse_rates, rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "抖店订单.xlsx"
        t = time.perf_counter()
        rows = douyin_xlsx(f, n)
        made = time.perf_counter() - t
        size_kb = f.stat().st_size // 1024
        channels = Channels.load(ConfigDir(), "Asia/Shanghai")
        for _ in range(runs):
            db = Database(await engine.fresh())
            imp = importer(db, channels)
            t0 = time.perf_counter()
            opened = channels.open_export([f])
            parsed = list(channels.parse(opened, "bench"))
            t1 = time.perf_counter()
            rep = await imp.import_parsed(parsed)
            t2 = time.perf_counter()
            await db.dispose()
            assert rep.added == n and not rep.rejects and not rep.flagged_amount, rep.summary()
            parse_rates.append(n / (t1 - t0))
            rates.append(n / (t2 - t0))
    print(f"export_file: {n} orders ({rows} rows, 抖店 XLSX {size_kb} KB, written in {made:.1f} s)")
    print(f"export_read_rate: {statistics.median(parse_rates):.0f} orders/s (detect, read, group, map; "
          f"median of {runs})")
    print(f"export_import_rate: {statistics.median(rates):.0f} orders/s (file to database; median of {runs})")


async def bench(spec: str, n: int, runs: int, export_n: int, export_runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(spec, Path(tmp))
        await engine.start()
        try:
            await run(engine, n, runs)
            if export_n:
                await run_export(engine, export_n, export_runs)
        finally:
            await engine.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20,000 orders instead of 200,000; a 2,800-order XLSX")
    ap.add_argument("--orders", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None, help="runs of the API-payload intake (median printed)")
    ap.add_argument("--export-orders", type=int, default=None, help="orders in the export file (0: skip it)")
    ap.add_argument("--engine", default="sqlite",
                    help="sqlite (default), postgresql (a throwaway cluster, as the tests start), or a "
                         "postgresql+asyncpg:// URL of a server where the bench may create databases")
    a = ap.parse_args()
    n = a.orders or (20_000 if a.quick else 200_000)
    runs = a.runs or (3 if a.quick else 1)
    export_n = a.export_orders if a.export_orders is not None else (2_800 if a.quick else 28_000)
    asyncio.run(bench(a.engine, n, runs, export_n, 3 if a.quick else 1))


if __name__ == "__main__":
    main()
