"""查 and 轨迹: read an order and its timeline."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.render import event_line, order_card_text, when
from orders.models import Order
from orders.reports.collaboration import collab_config, record_ask
from orders.reports.region_config import RegionConfig
from orders.reports.unsigned import overdue_unsigned

READERS = ("cs", "cs_lead", "warehouse", "finance", "ops", "manager")
MAX_TIMELINE_LINES = 60


@registry.command("查", roles=READERS, summary="查订单：状态、金额、商品、运单、最近动态",
                  example="查 BG260122-8812 或 查 8812")
async def query(req: Request, args: str) -> list[Reply]:
    d = await req.app.orders.detail(args, user_id=req.user.user_id)
    await _asked(req, d.order, "查")
    text = order_card_text(d.order, d.recent, req.app.settings.tz)
    hours = RegionConfig.load(req.app.config).sign_hours
    if overdue_unsigned(d.order, req.app.clock.now(), hours):
        text += f"\n⚠️ 超{hours}小时未签收（{when(d.order.status_since, req.app.settings.tz)} 揽收），请跟进。"
    return [Reply(text=text)]


@registry.command("轨迹", roles=READERS, summary="订单的完整时间线", example="轨迹 BG260122-8812")
async def history(req: Request, args: str) -> list[Reply]:
    order, events = await req.app.orders.history(args)
    await _asked(req, order, "轨迹")
    tz = req.app.settings.tz
    lines = [f"订单 {order.order_no} 的完整轨迹（{len(events)}条）："]
    shown = events[-MAX_TIMELINE_LINES:]
    if len(events) > len(shown):
        lines.append(f"（较早的 {len(events) - len(shown)} 条省略）")
    lines += [f"{i}. {event_line(ev, tz)}" for i, ev in enumerate(shown, len(events) - len(shown) + 1)]
    if not events:
        lines.append("（暂无记录）")
    return [Reply(text="\n".join(lines))]


async def _asked(req: Request, order: Order, command: str) -> None:
    """Note the look-up for the collaboration report (who asked, the order's state then)."""
    await record_ask(req.app.db, order_id=order.id, state=order.status, state_since=order.status_since, user=req.user,
                     command=command, at=req.app.clock.now(), msg_id=req.incoming.msg_id,
                     cfg=collab_config(req.app))
