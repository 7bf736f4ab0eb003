"""查 and 轨迹: read an order and its timeline."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.render import event_line, order_card_text

READERS = ("cs", "cs_lead", "warehouse", "finance", "ops", "manager")
MAX_TIMELINE_LINES = 60


@registry.command("查", roles=READERS, summary="查订单：单号/尾号、平台单号、手机号或尾号、买家姓名、运单号都能查",
                  example="查 BG260122-8812 或 查 8812", aliases=("查询", "查单", "查看"))
async def query(req: Request, args: str) -> list[Reply]:
    d = await req.app.orders.detail(args, user_id=req.user.user_id)
    return [Reply(text=order_card_text(d.order, d.recent, req.app.settings.tz))]


@registry.command("轨迹", roles=READERS, summary="订单的完整时间线", example="轨迹 BG260122-8812")
async def history(req: Request, args: str) -> list[Reply]:
    order, events = await req.app.orders.history(args)
    tz = req.app.settings.tz
    lines = [f"订单 {order.order_no} 的完整轨迹（{len(events)}条）："]
    shown = events[-MAX_TIMELINE_LINES:]
    if len(events) > len(shown):
        lines.append(f"（较早的 {len(events) - len(shown)} 条省略）")
    lines += [f"{i}. {event_line(ev, tz)}" for i, ev in enumerate(shown, len(events) - len(shown) + 1)]
    if not events:
        lines.append("（暂无记录）")
    return [Reply(text="\n".join(lines))]
