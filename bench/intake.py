"""Intake bench: N orders mixed across channels (platform API payloads) through the adapters and
the importer (orders, lines, discount ledger, timeline; brushing check on) into a fresh SQLite file.

    python bench/intake.py            # 200,000 orders
    python bench/intake.py --quick    # 20,000 orders

Prints `figure: value unit` lines: orders/s for adapt+import, the adapt-only and import-only
rates, and peak RSS."""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import ConfigDir
from orders.clock import ManualClock
from orders.db import Database
from orders.intake.brushing import BrushingRule
from orders.intake.channels import Channels
from orders.intake.importer import Importer
from orders.models import Discount, Order, OrderLine, TimelineEvent
from orders.workflow import WorkflowDef, WorkflowRegistry
from tests.fakes import payloads as P

MAKERS = {"taobao": P.taobao, "pdd": P.pdd, "douyin": P.douyin, "jd": P.jd, "youzan": P.youzan}


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


async def run(n: int) -> None:
    data = payloads(n)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await db.migrate()
        cfg = ConfigDir()
        channels = Channels.load(cfg, "Asia/Shanghai")
        imp = Importer(db, ManualClock(datetime(2026, 1, 22, 4, tzinfo=UTC)),
                       WorkflowRegistry(WorkflowDef.from_dict(cfg.load("workflow"))), "Asia/Shanghai",
                       brushing_rule=BrushingRule.from_config(channels.raw.get("brushing")))
        t0 = time.perf_counter()
        parsed = [(i, channels.adapt(ch, p, "bench")) for i, (ch, p) in enumerate(data, 1)]
        t1 = time.perf_counter()
        rep = await imp.import_parsed(parsed)
        t2 = time.perf_counter()
        async with db.session() as s:
            rows = 0
            for model in (Order, OrderLine, Discount, TimelineEvent):
                rows += int(await s.scalar(select(func.count()).select_from(model)) or 0)
        await db.dispose()
    assert rep.added == n and not rep.rejects, rep.summary()
    print(f"orders: {n} orders")
    print(f"intake_rate: {n / (t2 - t0):.0f} orders/s")
    print(f"adapt_rate: {n / (t1 - t0):.0f} orders/s")
    print(f"import_rate: {n / (t2 - t1):.0f} orders/s")
    print(f"total_time: {t2 - t0:.2f} s")
    print(f"rows_written: {rows} rows (orders, lines, discount ledger, timeline)")
    print(f"row_rate: {rows / (t2 - t1):.0f} rows/s")
    print(f"peak_rss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20,000 orders instead of 200,000")
    ap.add_argument("--orders", type=int, default=None)
    a = ap.parse_args()
    asyncio.run(run(a.orders or (20_000 if a.quick else 200_000)))


if __name__ == "__main__":
    main()
