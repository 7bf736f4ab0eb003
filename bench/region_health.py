"""Region fulfilment health figures (#17), run by ``bench/analytics.py`` or alone
(``python bench/region_health.py [--quick]``): the metrics build (pandas, all levels × carriers,
Wilson flags) over 1,000,000 parcels' facts; the whole report as ``区域`` runs it over 1,000,000
orders in SQLite — the stored ``parcel_facts`` read with one query, then the build (goal < 3 s);
and the map render (in process, warm; goal < 0.5 s). ``--quick``: 100,000 parcels / orders.
Prints medians as ``figure: value unit`` lines."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from bench.common import figure, median
from orders.reports.facts import adcode
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


def _load_db(path: Path, facts: pd.DataFrame) -> None:
    """Orders (the columns a row needs, nothing more), ``parcel_regions`` / ``_carriers`` and ``parcel_facts``
    written straight with sqlite3 ``executemany`` in one transaction, then ANALYZE."""
    import sqlite3

    from orders.reports.facts import split_code

    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA foreign_keys=ON")
        cols = [(name, typ.upper()) for _, name, typ, notnull, dflt, pk in con.execute("PRAGMA table_info(orders)")
                if notnull and dflt is None and not pk]
        fill = {c: ("2026-01-01 00:00:00.000000" if "DATE" in t else 0 if "INT" in t or "BOOL" in t else
                    "[]" if c == "flags" else "") for c, t in cols}
        n = len(facts)
        keys = [c for c in fill if c not in ("order_no", "order_no_rev", "channel_order_id")]
        sql = (f"INSERT INTO orders (id, order_no, order_no_rev, channel_order_id, {', '.join(keys)}) "
               f"VALUES (?, ?, ?, ?, {', '.join('?' * len(keys))})")
        rest = tuple(fill[k] for k in keys)
        con.executemany(sql, ((i + 1, f"BN{i:08d}", f"BN{i:08d}"[::-1], f"B{i}", *rest) for i in range(n)))
        regs = facts[["province", "city", "district"]].drop_duplicates().reset_index(drop=True)
        con.executemany("INSERT INTO parcel_regions (id, province, city, district, prov_code, city_code, dist_code) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(i + 1, p, c, d, *split_code(adcode(p, c, d))) for i, (p, c, d) in
                         enumerate(regs.itertuples(index=False))])
        rid = facts.merge(regs.reset_index(names="rid"), on=["province", "city", "district"], how="left")["rid"] + 1

        def secs(col: pd.Series) -> list[int | None]:
            v = (col.astype("int64") // 10**9).astype(object) if col.dt.unit == "ns" else col.astype("int64")
            return [None if pd.isna(t) else int(x) for t, x in zip(col, v, strict=True)]

        paid, picked, signed = secs(facts["paid_at"]), secs(facts["picked_at"]), secs(facts["signed_at"])
        names = sorted(set(facts["carrier"]))
        con.executemany("INSERT INTO parcel_carriers (id, name) VALUES (?, ?)", list(enumerate(names, 1)))
        cid = {c: i for i, c in enumerate(names, 1)}
        comp, carrier = facts["complaints"].tolist(), [cid[c] for c in facts["carrier"]]
        ret = facts["returned"].to_numpy()
        con.executemany("INSERT INTO parcel_facts (order_id, region_id, carrier_id, paid_at, picked_at, signed_at, "
                        "picked_by_carrier, complaints, cases, platform_status) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                        ((i + 1, int(rid[i]), carrier[i], paid[i], picked[i], signed[i], comp[i], 0,
                          "退款成功" if ret[i] and signed[i] is not None else "") for i in range(n)))
        con.commit()
        con.execute("ANALYZE")
    finally:
        con.close()


async def _report_from_db(n: int, runs: int) -> None:
    """The whole report as ``区域`` runs it: the stored facts read with one query, then the build."""
    from dataclasses import replace

    from bench.common import temp_db
    from config import load_settings
    from orders.app import build_app
    from orders.clock import ManualClock
    from orders.reports.parcels import load_facts
    from orders.reports.regions import Windows, region_report

    cfg = replace(RegionConfig(), return_platform_statuses=("退款成功",))
    async with temp_db() as (path, url):
        t = time.perf_counter()
        _load_db(path, synthetic_facts(n))
        figure(f"region_db_load_{n}_orders", time.perf_counter() - t, "s")
        app = await build_app(load_settings(database_url=url, data_dir=path.parent / "var"), clock=ManualClock(NOW),
                              migrate=False)
        try:
            reads, totals = [], []
            for _ in range(runs):
                t = time.perf_counter()
                async with app.db.session() as s:
                    got = await load_facts(s, cfg, Windows.of(cfg, NOW).base_start, NOW)
                reads.append(time.perf_counter() - t)
                t = time.perf_counter()
                async with app.db.session() as s:
                    rep = await region_report(s, cfg, NOW)
                totals.append(time.perf_counter() - t)
        finally:
            await app.close()
    figure(f"region_facts_read_{n}_orders", median(reads), "s")
    figure(f"region_report_with_read_{n}_orders", median(totals), "s")
    figure("region_facts_rows", len(got), "rows")
    figure("region_flags", len(rep.flags), "flags")


def region_figures(quick: bool) -> None:
    """#17's figures (kept in one function so other analytics benches can sit beside them)."""
    region_build_figures(100_000 if quick else 1_000_000, 3 if quick else 5)
    region_map_figures(3 if quick else 7)
    asyncio.run(_report_from_db(100_000 if quick else 1_000_000, 3 if quick else 5))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="100,000 parcels / orders")
    region_figures(ap.parse_args().quick)
