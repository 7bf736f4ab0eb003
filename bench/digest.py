"""Digest build time over a big database: 1,000,000 orders and 50,000 after-sales cases
(``--quick``: 50,000 and 5,000). Data is bulk-loaded into a migrated temporary SQLite file
(``bench.common``); then the digest (all queries + the chart) is built several times. Prints medians."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bulk_load, temp_db
from config import load_settings
from notifications.digest import SECTIONS, build_digest
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.app import build_app
from orders.clock import ManualClock
from orders.models import Order, TimelineEvent

NOW = datetime(2026, 1, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
STATES = [("支付成功", 3), ("仓库分单", 3), ("拣货中", 3), ("打包完成", 3), ("物流揽收", 8), ("签收确认", 20),
          ("售后关闭", 55), ("已取消", 5)]
CHANNELS = ["taobao", "pdd", "douyin", "jd", "wechat"]
REASONS = ["尺码不合适", "发错颜色", "质量问题", "物流太慢", "不想要了", "少发配件", "破损", "与描述不符"]
KINDS = ["退款", "退货", "换货", "补偿"]


def _orders(n: int, rnd: random.Random) -> Any:
    names = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    for i in range(n):
        created = NOW - timedelta(seconds=rnd.randint(0, 60 * 86400))
        since = created + timedelta(seconds=rnd.randint(0, max(1, int((NOW - created).total_seconds()))))
        no = f"BG{created:%y%m%d}-{i:07d}"
        yield {"order_no": no, "order_no_rev": no[::-1], "channel": rnd.choice(CHANNELS),
               "channel_order_id": f"C{i:012d}", "shop": "bench", "status": rnd.choices(names, weights)[0],
               "status_since": since, "flags": [], "created_at": created, "paid_at": created, "updated_at": since,
               "buyer_name": "", "phone_masked": "", "phone_hash": "", "province": "", "city": "", "district": "",
               "address_detail": "", "goods_total_fen": 10000, "shipping_fen": 0, "discount_total_fen": 0,
               "paid_fen": 10000, "owner_id": "cs01", "assignee_id": None, "note": "", "version": 1}


def load(path: Path, n_orders: int, n_cases: int) -> None:
    rnd = random.Random(42)
    with bulk_load(path) as put:
        put(Order, _orders(n_orders, rnd))
        packed = ({"order_id": rnd.randint(1, n_orders), "at": NOW - timedelta(seconds=rnd.randint(0, 30 * 86400)),
                   "actor": "wh01", "source": "button", "kind": "state_changed", "from_state": "拣货中",
                   "to_state": "打包完成", "detail": {}} for _ in range(n_orders // 5))
        put(TimelineEvent, packed)
        cases, steps = [], []
        for i in range(1, n_cases + 1):
            opened = NOW - timedelta(seconds=rnd.randint(0, 60 * 86400))
            open_ = rnd.random() < 0.05
            closed = None if open_ else opened + timedelta(minutes=rnd.randint(10, 3000))
            if closed and closed > NOW:
                closed, open_ = None, True
            status = "open" if open_ else rnd.choice(["approved", "approved", "rejected"])
            reason = rnd.choice(REASONS)
            cases.append({"id": i, "case_no": f"AS{opened:%y%m%d}-{i:06d}", "order_id": rnd.randint(1, n_orders),
                          "channel": rnd.choice(CHANNELS), "kind": rnd.choice(KINDS), "amount_fen": 1000,
                          "reason": reason, "misship": reason in ("发错颜色", "少发配件"), "requester_id": "cs01",
                          "status": status, "current_step": 1 if open_ else 2, "opened_at": opened,
                          "first_response_at": None if open_ else opened + timedelta(minutes=rnd.randint(5, 300)),
                          "closed_at": closed, "closed_by": None if open_ else "fin01", "reject_reason": "",
                          "refund_fen": 1000 if status == "approved" else 0})
            for idx, (name, role) in enumerate([("客服提交", "cs"), ("仓管确认实物入库", "warehouse"),
                                                ("财务核对", "finance")]):
                pending = open_ and idx == 1
                steps.append({"case_id": i, "idx": idx, "name": name, "role": role, "department": "",
                              "state": "pending" if pending else ("waiting" if open_ and idx == 2 else "approved"),
                              "assignees": ["wh01"], "task_id": f"as-{i}-{idx}", "opened_at": opened,
                              "deadline_at": opened + timedelta(hours=4) if pending else None,
                              "decided_at": None, "decided_by": None, "decided_name": ""})
        put(AfterSalesCase, cases)
        put(ApprovalStep, steps)


async def run(n_orders: int, n_cases: int, repeats: int) -> None:
    async with temp_db() as (path, url):
        t0 = time.perf_counter()
        load(path, n_orders, n_cases)
        load_s = time.perf_counter() - t0
        app = await build_app(load_settings(database_url=url, data_dir=path.parent / "var"), clock=ManualClock(NOW),
                              migrate=False)
        try:
            queries, total = [], []
            no_chart = tuple(s for s in SECTIONS if s != "chart")
            await build_digest(app)  # warm-up: imports matplotlib, fills the page cache
            for _ in range(repeats):
                t = time.perf_counter()
                await build_digest(app, no_chart)
                queries.append(time.perf_counter() - t)
                t = time.perf_counter()
                dg = await build_digest(app)
                total.append(time.perf_counter() - t)
            assert "超时订单" in dg.markdown
        finally:
            await app.close()
    print(f"orders: {n_orders} rows")
    print(f"cases: {n_cases} rows")
    print(f"bulk_load: {load_s:.1f} s")
    print(f"digest_queries_median: {statistics.median(queries) * 1000:.0f} ms")
    print(f"digest_build_with_chart_median: {statistics.median(total) * 1000:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="50,000 orders and 5,000 cases")
    ap.add_argument("--orders", type=int)
    ap.add_argument("--cases", type=int)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    orders = a.orders or (50_000 if a.quick else 1_000_000)
    cases = a.cases or (5_000 if a.quick else 50_000)
    asyncio.run(run(orders, cases, a.repeats))


if __name__ == "__main__":
    main()
