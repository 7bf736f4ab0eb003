"""运单: attach a carrier tracking number to an order."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.errors import InvalidInput

USAGE = ("用法：运单 <单号> <快递公司> <运单号>，例如：运单 BG260122-8812 中通 73123456789012；"
         "删除登记错的：运单 <单号> 删除 <运单号>")


@registry.command("运单", roles=("cs", "cs_lead", "warehouse", "ops"), summary="登记运单号（或删除登记错的）",
                  example="运单 BG260122-8812 中通 73123456789012")
async def tracking(req: Request, args: str) -> list[Reply]:
    parts = args.split()
    if len(parts) != 3:
        raise InvalidInput(USAGE)
    if parts[1] in ("删除", "删", "移除"):
        order, gone = await req.app.orders.remove_tracking(parts[0], req.actor, parts[2])
        return [Reply(text=f"✅ 订单 {order.order_no} 已删除运单：{gone.carrier} {gone.number}")]
    order = await req.app.orders.add_tracking(parts[0], req.actor, parts[1], parts[2])
    t = order.tracking[-1]
    return [Reply(text=f"✅ 订单 {order.order_no} 已登记运单：{t.carrier} {t.number}")]
