"""日报: the manager digest on demand (markdown, then the chart)."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from notifications.digest import SECTIONS, DigestConfig, build_digest
from orders.errors import InvalidInput


@registry.command("日报", roles=("manager", "ops"), summary="运营日报：超时订单、售后、退款原因、错发率等",
                  example="日报")
async def digest(req: Request, args: str) -> list[Reply]:
    cfg = DigestConfig.load(req.app.config)
    name = args.strip()
    spec = next((d for d in cfg.digests if d.name == name or not name), None)
    if name and spec is None:
        raise InvalidInput(f"没有日报「{name[:20]}」。可用：{'、'.join(d.name for d in cfg.digests) or '无'}")
    dg = await build_digest(req.app, spec.reports if spec else SECTIONS, cfg=cfg)
    out = [Reply(markdown=part) for part in dg.chunks()]
    if dg.chart is not None:
        out.append(Reply(image=dg.chart))
    return out
