"""Region fulfilment health figures (#17), run by ``bench/analytics.py``: the metrics build (pandas, all levels ×
carriers, Wilson flags) over 1,000,000 parcels' facts, the facts load from SQLite (orders,
timeline, tracking, cases) and the map render (in process, warm). ``--quick``: 100,000 parcels
for the build, 10,000 orders for the load. Prints medians as ``figure: value unit`` lines."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from bench.common import figure, median
from orders.reports.parcels import adcodes
from orders.reports.region_config import RegionConfig
from orders.reports.regions import build

NOW = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
REGIONS = [("河南省", "周口市", "川汇区"), ("河南省", "郑州市", "金水区"), ("浙江省", "杭州市", "西湖区"),
           ("上海市", "上海市", "浦东新区"), ("江苏省", "南京市", "鼓楼区"), ("广东省", "深圳市", "南山区"),
           ("四川省", "成都市", "武侯区"), ("湖北省", "武汉市", "洪山区"), ("北京市", "北京市", "朝阳区"),
           ("山东省", "济南市", "历下区"), ("福建省", "厦门市", "思明区"), ("陕西省", "西安市", "雁塔区")]
CARRIERS = ["顺丰", "中通", "圆通", "韵达", "申通", "京东", "极兔", "快驿达"]


def synthetic_facts(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` parcels over the window and baseline, every region × carrier mixed."""
    rng = np.random.default_rng(seed)
    regs = adcodes(pd.DataFrame(REGIONS, columns=["province", "city", "district"]))
    f = regs.iloc[rng.integers(0, len(regs), n)].reset_index(drop=True)
    f["order_id"] = np.arange(n)
    f["carrier"] = rng.choice(CARRIERS, n)
    picked = (pd.Timestamp(NOW) - pd.to_timedelta(rng.uniform(0, 86 * 86400, n), unit="s")).floor("s")
    f["paid_at"] = picked - pd.Timedelta(hours=20)
    f["picked_at"] = picked
    signed = (picked + pd.to_timedelta(rng.uniform(8, 80, n), unit="h")).floor("s")
    f["signed_at"] = signed.where(signed <= pd.Timestamp(NOW))
    f["returned"] = rng.random(n) < 0.03
    f["complaints"] = (rng.random(n) < 0.004).astype("int64")
    return f


def _time(fn: Callable[[], Any], runs: int) -> float:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return median(out)


def region_build_figures(n: int, runs: int) -> None:
    facts = synthetic_facts(n)
    cfg = RegionConfig()
    build(facts, cfg, NOW)  # warm-up
    figure(f"region_metrics_build_{n}_parcels", _time(lambda: build(facts, cfg, NOW), runs), "s")


def region_map_figures(runs: int) -> None:
    from notifications.region_map import render_region_map

    vals = {c: (0.02 + 0.01 * (i % 7), 500) for i, c in enumerate(
        [110000, 310000, 320000, 330000, 410000, 420000, 440000, 510000, 370000, 350000, 610000])}
    kw: dict[str, Any] = dict(title="全国 退货率（近30天）", note="退货率 = 退货的包裹 ÷ 已签收的包裹",
                              fmt=lambda v: f"{v:.1%}")
    render_region_map(vals, level="province", parent=None, **kw)  # warm: boundaries, font
    png = b""

    def national() -> None:
        nonlocal png
        png = render_region_map(vals, level="province", parent=None, **kw)

    figure("region_map_render_province", _time(national, runs), "s")
    figure("region_map_png_size", len(png) / 1024, "KiB")
    render_region_map({411600: (0.2, 300)}, level="city", parent=410000, **kw)
    figure("region_map_render_cities_of_province",
           _time(lambda: render_region_map({411600: (0.2, 300)}, level="city", parent=410000, **kw), runs), "s")


async def _facts_load(n: int, runs: int) -> None:
    from sqlalchemy import insert

    from config import load_settings
    from orders.app import build_app
    from orders.clock import ManualClock
    from orders.models import Order, TimelineEvent, Tracking
    from orders.reports.parcels import load_facts
    from orders.reports.regions import Windows

    folder = Path(tempfile.mkdtemp(prefix="orderbot-bench-regions-"))
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}", data_dir=folder / "var")
    app = await build_app(settings, clock=ManualClock(NOW))
    facts = synthetic_facts(n)
    picked = facts["picked_at"].dt.to_pydatetime()
    signed = facts["signed_at"]
    async with app.db.session() as s:
        for lo in range(0, n, 20_000):
            hi = min(n, lo + 20_000)
            rows = [dict(order_no=f"BN{i:08d}", order_no_rev=f"BN{i:08d}"[::-1], channel="taobao",
                         channel_order_id=f"B{i}", status="物流揽收", status_since=picked[i], flags=[],
                         created_at=picked[i], paid_at=picked[i], updated_at=picked[i],
                         province=facts.at[i, "province"], city=facts.at[i, "city"], district=facts.at[i, "district"])
                    for i in range(lo, hi)]
            ids = list((await s.scalars(insert(Order).returning(Order.id, sort_by_parameter_order=True), rows)).all())
            ev = [dict(order_id=oid, at=picked[i], actor="wh01", source="button", kind="state_changed",
                       to_state="物流揽收", detail={}) for oid, i in zip(ids, range(lo, hi), strict=True)]
            ev += [dict(order_id=oid, at=signed[i].to_pydatetime(), actor="system", source="system",
                        kind="state_changed", to_state="签收确认", detail={})
                   for oid, i in zip(ids, range(lo, hi), strict=True) if not pd.isna(signed[i])]
            await s.execute(insert(TimelineEvent), ev)
            await s.execute(insert(Tracking), [dict(order_id=oid, carrier=facts.at[i, "carrier"], number=f"N{oid}",
                                                     created_at=picked[i])
                                                for oid, i in zip(ids, range(lo, hi), strict=True)])
    cfg = RegionConfig()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        async with app.db.session() as s:
            got = await load_facts(s, cfg, Windows.of(cfg, NOW - timedelta(days=1)).base_start, NOW, settings.tz)
        times.append(time.perf_counter() - t)
    await app.close()
    figure(f"region_facts_load_{n}_orders", median(times), "s")
    figure("region_facts_rows", len(got), "rows")


def region_figures(quick: bool) -> None:
    """#17's figures (kept in one function so other analytics benches can sit beside them)."""
    region_build_figures(100_000 if quick else 1_000_000, 3 if quick else 5)
    region_map_figures(3 if quick else 7)
    asyncio.run(_facts_load(10_000 if quick else 200_000, 1 if quick else 3))
