"""备注: add a note to an order's timeline."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.query import READERS
from handlers.registry import registry
from orders.errors import InvalidInput
from orders.notes import add_note

USAGE = "用法：备注 <单号> <文字>，例如：备注 BG260122-8812 客户要求周末送货"


@registry.command("备注", roles=READERS, summary="给订单加备注（查和拣货卡片上可见）",
                  example="备注 BG260122-8812 客户要求周末送货")
async def note(req: Request, args: str) -> list[Reply]:
    order_no, _, text = args.partition(" ")
    if not order_no or not text.strip():
        raise InvalidInput(USAGE)
    order, kept = await add_note(req.app.orders, order_no, req.actor, text)
    return [Reply(text=f"✅ 订单 {order.order_no} 已加备注：{kept}")]
