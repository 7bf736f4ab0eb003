"""推进 and 取消: move an order through the workflow."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.errors import InvalidInput


@registry.command("推进", roles=("cs", "cs_lead", "warehouse", "ops"), summary="推进到下一状态，或指定状态",
                  example="推进 BG260122-8812 或 推进 BG260122-8812 拣货中")
async def advance(req: Request, args: str) -> list[Reply]:
    parts = args.split()
    if not parts or len(parts) > 2:
        raise InvalidInput("用法：推进 <单号> [状态]，例如：推进 BG260122-8812")
    moved = await req.app.orders.advance(parts[0], req.actor, parts[1] if len(parts) == 2 else None)
    nxt = moved.workflow.allowed(moved.to_state)
    text = f"✅ 订单 {moved.order.order_no}：{moved.from_state} → {moved.to_state}"
    if nxt:
        text += f"\n下一步可推进到：{'、'.join(nxt)}"
    return [Reply(text=text)]


@registry.command("取消", roles=("cs", "cs_lead", "ops"), summary="取消订单（发货前）",
                  example="取消 BG260122-8812 客户拍错尺码")
async def cancel(req: Request, args: str) -> list[Reply]:
    order_no, _, reason = args.partition(" ")
    if not order_no or not reason.strip():
        raise InvalidInput("用法：取消 <单号> <原因>，例如：取消 BG260122-8812 客户拍错尺码")
    moved = await req.app.orders.cancel(order_no, req.actor, reason)
    return [Reply(text=f"✅ 订单 {moved.order.order_no} 已取消（原状态：{moved.from_state}）。原因：{reason.strip()}")]
