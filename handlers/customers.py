"""客户池: the customer value pool's segment sizes (with movement since last week), one
segment's top buyers (masked), and a rebuild on demand."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.errors import InvalidInput
from orders.labels import channel_name
from orders.money import fen_to_yuan
from orders.privacy import mask_name, mask_phone
from orders.reports.customers import HIGH_POTENTIAL, SEGMENT_ORDER
from orders.reports.pool import buyers, known_segment, movement, pool_config, rebuild

REFRESH = ("刷新", "重建")


@registry.command("客户池", roles=("ops", "manager"), summary="客户价值池：RFM 八类与高潜留存的人数及较上周变化",
                  example="客户池 或 客户池 高潜留存")
async def customer_pool(req: Request, args: str) -> list[Reply]:
    app = req.app
    name = args.strip()
    today = app.clock.now().astimezone(ZoneInfo(app.settings.tz)).date()
    if name in REFRESH:
        built = await rebuild(app)
        n = built.buyers if built else 0
        return [Reply(text=f"客户池已重建：{n} 位客户（近 {pool_config(app).window_days} 天有订单）。")]
    if name and not known_segment(name):
        raise InvalidInput(f"没有客户分群「{name[:20]}」。可用：{HIGH_POTENTIAL}、{'、'.join(SEGMENT_ORDER)}")
    async with app.db.session() as s:
        mv = await movement(s, today)
    if mv.day is None:
        await rebuild(app)
        async with app.db.session() as s:
            mv = await movement(s, today)
    if not name:
        return [Reply(text=_sizes(mv.sizes, mv.week_ago, mv.day or "", mv.week_ago_day, pool_config(app).window_days))]
    return [Reply(text=await _top(req, name))]


def _sizes(now: dict[str, int], before: dict[str, int], day: str, before_day: str | None, window: int) -> str:
    total = sum(now.get(s, 0) for s in SEGMENT_ORDER)
    lines = [f"客户池（{day[5:]} 生成，近 {window} 天，共 {total} 位客户）"]
    for seg in (HIGH_POTENTIAL, *SEGMENT_ORDER):
        n = now.get(seg, 0)
        delta = f"（较上周 {n - before.get(seg, 0):+d}）" if before_day else ""
        lines.append(f"· {seg}：{n}{delta}")
    if not before_day:
        lines.append("（还没有一周前的客户池，下周起显示变化）")
    lines.append(f"发送「客户池 {HIGH_POTENTIAL}」看名单")
    return "\n".join(lines)


async def _top(req: Request, segment: str) -> str:
    top = pool_config(req.app).top
    async with req.app.db.session() as s:
        found = await buyers(s, segment, top)
    if not found:
        return f"「{segment}」暂无客户。"
    lines = [f"{segment} TOP {len(found)}（按金额）："]
    for i, b in enumerate(found, 1):
        r = b.row
        moved = f" · 迁移 {channel_name(r.channel_from)}→{channel_name(r.channel_to)}" if r.channel_from else ""
        cv = f" · 间隔CV {r.interval_cv:.2f}" if r.interval_cv is not None else ""
        lines.append(f"{i}. {mask_name(b.nick)} {mask_phone(b.phone_masked)} · {r.orders} 单 · "
                     f"{fen_to_yuan(r.amount_fen)} 元 · {r.recency_days:.0f} 天前{cv}{moved}")
    return "\n".join(lines)
