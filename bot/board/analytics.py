"""The board's analytics pages: 区域 (the same flags and map as chat's 区域), 客户池 (segment
sizes with movement, and one segment's buyers, masked) and 协作 (chat's heat maps). Same queries
and figure code as chat."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.board.pages import allowed
from bot.board.render import page
from bot.board.state import board_of
from notifications.collab_chart import render_heatmaps
from notifications.region_digest import region_map_png
from orders.app import App
from orders.labels import channel_name
from orders.money import fen_to_yuan
from orders.privacy import mask_name, mask_phone
from orders.reports.collaboration import build as build_collab
from orders.reports.collaboration import collab_config
from orders.reports.customers import HIGH_POTENTIAL, SEGMENT_ORDER
from orders.reports.pool import buyers, known_segment, movement
from orders.reports.region_config import RegionConfig
from orders.reports.regions import DENOMINATORS, LABELS, METRICS, fmt_rate, region_report


async def regions(request: web.Request) -> web.StreamResponse:
    allowed(request, "regions")
    app = board_of(request).app
    metric = request.query.get("metric", "")
    metric = metric if metric in METRICS else ""

    async def build() -> dict[str, Any]:
        cfg = RegionConfig.load(app.config)
        async with app.db.session() as s:
            rep = await region_report(s, cfg, app.clock.now(), app.settings.tz)
        shown = metric or (rep.flags[0].metric if rep.flags else "sign48")
        png = await region_map_png(rep, shown, "province", None, f"全国 {LABELS[shown]}（近{cfg.window_days}天）")
        return {"flags": [f.line() for f in rep.flags[:cfg.top_flags]], "metric": shown,
                "national": [(LABELS[m], fmt_rate(m, rep.national[m])) for m in METRICS],
                "metrics": [(m, LABELS[m]) for m in METRICS], "denominator": DENOMINATORS[shown],
                "min_parcels": cfg.min_parcels, "map": base64.b64encode(png).decode(), "built": _built(app)}

    ctx = await board_of(request).cache.get(("regions", metric), build)
    return page(request, "regions.html", {"title": "区域健康", "page_name": "regions", **ctx})


async def customers(request: web.Request) -> web.StreamResponse:
    allowed(request, "customers")
    app = board_of(request).app
    segment = request.query.get("segment", HIGH_POTENTIAL)
    if not known_segment(segment):
        raise web.HTTPBadRequest(text=f"没有客户分群「{segment[:20]}」。")
    today = app.clock.now().astimezone(ZoneInfo(app.settings.tz)).date()
    async with app.db.session() as s:
        mv = await movement(s, today)
        found = await buyers(s, segment, 20)
    sizes = [(seg, mv.sizes.get(seg, 0), (mv.sizes.get(seg, 0) - mv.week_ago.get(seg, 0)) if mv.week_ago_day else None)
             for seg in (HIGH_POTENTIAL, *SEGMENT_ORDER)]
    rows = [{"buyer": f"{mask_name(b.nick)} {mask_phone(b.phone_masked)}", "orders": b.row.orders,
             "amount": fen_to_yuan(b.row.amount_fen), "recency": f"{b.row.recency_days:.0f}",
             "cv": "" if b.row.interval_cv is None else f"{b.row.interval_cv:.2f}",
             "moved": f"{channel_name(b.row.channel_from)}→{channel_name(b.row.channel_to)}"
             if b.row.channel_from else ""} for b in found]
    return page(request, "customers.html", {"title": "客户池", "page_name": "customers", "sizes": sizes,
                                            "built": mv.day, "segment": segment, "rows": rows})


async def collab(request: web.Request) -> web.StreamResponse:
    allowed(request, "collab")
    app = board_of(request).app

    async def build() -> dict[str, Any]:
        days = collab_config(app).map_days
        now = app.clock.now()
        c = await build_collab(app, now - timedelta(days=days), now)
        rows, cols = list(c.by_dept.index), list(c.by_dept.columns)
        counts = [[int(v) for v in r] for r in c.by_dept.to_numpy()] if rows else []
        pairs = sorted(((n, a, o) for a, r in zip(rows, counts, strict=True) for o, n in zip(cols, r, strict=True)
                        if n), reverse=True)
        png = await asyncio.to_thread(render_heatmaps, rows, cols, counts, c.wait_median, f"近 {days} 日")
        return {"days": days, "count": c.count, "handoffs": c.handoffs, "built": _built(app),
                "pairs": [f"{a} 问 {o}：{n} 次" for n, a, o in pairs[:10]], "map": base64.b64encode(png).decode()}

    ctx = await board_of(request).cache.get(("collab",), build)
    return page(request, "collab.html", {"title": "跨部门协作", "page_name": "collab", **ctx})


def _built(app: App) -> str:
    return app.clock.now().astimezone(ZoneInfo(app.settings.tz)).strftime("%H:%M")
