"""日报: the manager digest on demand: yesterday, or a past day (日报 前天 / 11-28), or last week
(日报 上周). Only periods are named in replies, never the digest names in digests.yaml."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from notifications.digest import SECTIONS, DigestConfig, build_digest
from notifications.digest_day import is_week, parse_period


@registry.command("日报", roles=("manager", "ops"), summary="运营日报：渠道汇总、超时订单、售后、应答时长、协作等",
                  example="日报 或 日报 前天 / 日报 11-28 / 日报 上周")
async def digest(req: Request, args: str) -> list[Reply]:
    cfg = DigestConfig.load(req.app.config)
    now = req.app.clock.now()
    period = parse_period(args, now, req.app.settings.tz)
    kind = "week" if is_week(period) else "day"
    spec = next((d for d in cfg.digests if d.period == kind), None)
    reps = spec.reports if spec else SECTIONS
    dg = await build_digest(req.app, reps, cfg=cfg, now=now, period=period)
    out = [Reply(markdown=part) for part in dg.chunks()]
    if dg.chart is not None:
        out.append(Reply(image=dg.chart))
    return out
