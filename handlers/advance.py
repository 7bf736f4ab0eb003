"""推进 and 取消: move an order through the workflow. ``推进 <单号> 打包完成 <原因>`` is the
warehouse lead's override for packing without every unit scanned (on the timeline)."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.task_cards import warehouse_config
from orders.errors import InvalidInput, NotPermitted
from orders.lookup import find_order
from orders.warehouse.hooks import OVERRIDE, mark_packed

OVERRIDE_ROLES = ("warehouse", "warehouse_lead")


@registry.command("推进", roles=("cs", "cs_lead", "warehouse", "ops"), summary="推进到下一状态，或指定状态",
                  example="推进 BG260122-8812 或 推进 BG260122-8812 拣货中")
async def advance(req: Request, args: str) -> list[Reply]:
    parts = args.split()
    if len(parts) > 2:
        return await override(req, parts[0], parts[1], " ".join(parts[2:]))
    if not parts:
        raise InvalidInput("用法：推进 <单号> [状态]，例如：推进 BG260122-8812")
    moved = await req.app.orders.advance(parts[0], req.actor, parts[1] if len(parts) == 2 else None)
    nxt = moved.workflow.allowed(moved.to_state)
    text = f"✅ 订单 {moved.order.order_no}：{moved.from_state} → {moved.to_state}"
    if nxt:
        text += f"\n下一步可推进到：{'、'.join(nxt)}"
    return [Reply(text=text)]


async def override(req: Request, query: str, target: str, reason: str) -> list[Reply]:
    app, cfg = req.app, warehouse_config(req.app)
    if target != cfg.pack_state:
        raise InvalidInput(f"用法：推进 <单号> [状态]；只有仓管放行打包可以带原因：推进 <单号> {cfg.pack_state} <原因>")
    if "admin" not in req.user.roles and not set(OVERRIDE_ROLES) & set(req.user.roles):
        leads = [r for r in OVERRIDE_ROLES if r in app.roles.names]
        raise NotPermitted("未扫完商品就放行打包", app.roles.labels(leads))
    if len(reason) > 100:
        raise InvalidInput("原因太长（最多100个字）。")
    async with app.db.session() as s:
        order = await find_order(s, query, full=True)
        moved = await app.orders.move(s, order, cfg.pack_state, req.actor,
                                      detail={OVERRIDE: reason, "reason": f"仓管放行打包：{reason}"})
        await mark_packed(s, order, app.clock.now())
    return [Reply(text=f"✅ 订单 {order.order_no}：{moved.from_state} → {moved.to_state}"
                       f"（仓管放行，未逐件扫码：{reason}）")]


@registry.command("取消", roles=("cs", "cs_lead", "ops"), summary="取消订单（发货前）",
                  example="取消 BG260122-8812 客户拍错尺码")
async def cancel(req: Request, args: str) -> list[Reply]:
    order_no, _, reason = args.partition(" ")
    if not order_no or not reason.strip():
        raise InvalidInput("用法：取消 <单号> <原因>，例如：取消 BG260122-8812 客户拍错尺码")
    moved = await req.app.orders.cancel(order_no, req.actor, reason)
    return [Reply(text=f"✅ 订单 {moved.order.order_no} 已取消（原状态：{moved.from_state}）。原因：{reason.strip()}")]
