"""拦截 (customer service stops a parcel) and 放行 (the warehouse lead lifts holds). The hold rules
live in ``orders/warehouse/holds.py``."""

from __future__ import annotations

import logging

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.task_cards import warehouse_config
from orders.errors import InvalidInput
from orders.lookup import find_order
from orders.warehouse import holds
from orders.warehouse.card import task_of

log = logging.getLogger(__name__)


def _args(args: str, word: str) -> tuple[str, str]:
    order_no, _, reason = args.strip().partition(" ")
    if not order_no or not reason.strip():
        raise InvalidInput(f"用法：{word} <单号> <原因>，例如：{word} BG260122-8812 买家申请退款")
    return order_no, reason.strip()


@registry.command("拦截", roles=("cs", "cs_lead", "warehouse", "warehouse_lead"),
                  summary="拦截订单：仓库暂停拣货打包，已打包的拦下", example="拦截 BG260122-8812 买家要求改尺码")
async def intercept(req: Request, args: str) -> list[Reply]:
    query, reason = _args(args, "拦截")
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    async with app.db.session() as s:
        order = await find_order(s, query)
        wf = await app.workflows.current(s)
        names = wf.definition.names
        pack = names.index(cfg.pack_state) if cfg.pack_state in names else len(names)
        if order.status in names and names.index(order.status) > pack:
            raise InvalidInput(f"订单 {order.order_no} 已到「{order.status}」，包裹已离开仓库，仓库拦截无效。"
                               "请联系快递拦截或走售后。")
        found = await holds.hold(s, order, reason, actor=req.actor, now=now, wh=cfg,
                                 board=app.settings)
        task = await task_of(s, order.id)
    text = f"⛔ 订单 {order.order_no} 已拦截，仓库暂停发货：{reason}"
    if task is not None and task.state == "packed":
        text += "\n包裹已打包，已通知仓管从待发区拦下。"
    elif task is not None:
        text += "\n已通知拣货员停止拣货。"
    if len(found) > 1:
        text += f"\n当前暂停原因：{holds.reasons(found)}"
    return [Reply(text=text + f"\n解除：仓管发送「放行 {order.order_no} <原因>」。")]


@registry.command("放行", roles=("warehouse", "warehouse_lead"), summary="解除订单的拦截/暂停（仓管）",
                  example="放行 BG260122-8812 买家撤销退款")
async def release(req: Request, args: str) -> list[Reply]:
    query, reason = _args(args, "放行")
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    async with app.db.session() as s:
        order = await find_order(s, query)
        before = await holds.holds_of(s, order)
        if not before:
            return [Reply(text=f"订单 {order.order_no} 没有暂停，不用放行。")]
        left = await holds.release(s, order, reason, actor=req.actor, now=now, wh=cfg,
                                   board=app.settings)
    log.info("order %s released by %s (%d holds left)", order.order_no, req.user.user_id, len(left))
    if left:
        return [Reply(text=f"订单 {order.order_no} 已解除可放行的暂停，但仍不能发货：{holds.reasons(left)}。"
                           "（已取消的订单不能放行；售后单需先结束。）")]
    return [Reply(text=f"✅ 订单 {order.order_no} 已放行：{reason}。拣货员已收到通知，可以继续拣货打包。")]
