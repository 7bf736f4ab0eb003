"""改地址: change the shipping address before the parcel leaves."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.errors import InvalidInput
from orders.privacy import mask_detail, mask_name

USAGE = ("用法：改地址 <单号> [收件人] [手机号] <新地址>（顺序不限），例如：改地址 BG260122-8812 张三 13800138000 "
         "上海市浦东新区张江路88弄3号楼502室")


@registry.command("改地址", roles=("cs", "cs_lead", "ops"), summary="修改收货地址、收件人、手机号（揽收前）",
                  example="改地址 BG260122-8812 张三 13800138000 上海浦东张江路88弄3号楼502室")
async def change_address(req: Request, args: str) -> list[Reply]:
    order_no, _, text = args.partition(" ")
    if not order_no or not text.strip():
        raise InvalidInput(USAGE)
    order, got = await req.app.orders.change_address(order_no, req.actor, text)
    a = got.address
    lines = [f"✅ 订单 {order.order_no} 收货信息已更新，请与客户核对：",
             f"省：{a.province}　市：{a.city}　区：{a.district or '（无）'}",
             f"详细地址：{mask_detail(a.detail)}"]
    if got.name:
        lines.append(f"收件人：{mask_name(got.name)}")
    if got.phone:
        lines.append(f"手机尾号：{got.phone[-4:]}")
    return [Reply(text="\n".join(lines))]
