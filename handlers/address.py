"""改地址: change the shipping address before the parcel leaves."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.errors import InvalidInput


@registry.command("改地址", roles=("cs", "cs_lead", "ops"), summary="修改收货地址（揽收前）",
                  example="改地址 BG260122-8812 浙江省杭州市西湖区文三路100号")
async def change_address(req: Request, args: str) -> list[Reply]:
    order_no, _, address = args.partition(" ")
    if not order_no or not address.strip():
        raise InvalidInput("用法：改地址 <单号> <新地址>，例如：改地址 BG260122-8812 浙江省杭州市西湖区文三路100号")
    order, masked = await req.app.orders.change_address(order_no, req.actor, address)
    return [Reply(text=f"✅ 订单 {order.order_no} 地址已改为：{masked}")]
