"""The warehouse's hooks on the order service: auto-assignment on entering the assign state,
holds (nobody packs or ships a held order), every unit scanned before packing, and a cancel
updating the temp's card."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orders.errors import InvalidInput
from orders.models import Order
from orders.service import Actor, OrderService
from orders.warehouse import holds
from orders.warehouse.card import refresh, task_of, units, with_lines
from orders.warehouse.config import WarehouseConfig
from orders.warehouse.duty import next_on_duty
from orders.warehouse.picking import expected_text
from orders.warehouse.tasks import assign, local_day, task_for_order
from orders.workflow import Workflow

log = logging.getLogger(__name__)
OVERRIDE = "override"  # move detail key: the lead's reason for packing without every scan


def install_auto_assign(service: OrderService, cfg: WarehouseConfig, tz: str) -> None:
    """Register the warehouse hooks (once per service)."""

    async def hook(s: AsyncSession, order: Order, target: str, actor: Actor) -> None:
        if not cfg.auto_assign or target != cfg.assign_state:
            return
        if await task_for_order(s, order.id) is not None:
            return
        now = service.clock.now()
        temp = await next_on_duty(s, local_day(now, tz))
        if temp is None:
            log.warning("order %s entered %s but no temp is on duty", order.order_no, target)
            return
        await assign(s, order, temp, "system", now, tz, source="system", by_name="系统自动分配", wh=cfg)
        log.info("order %s auto-assigned to %s", order.order_no, temp.user_id)

    async def cancelled(s: AsyncSession, order: Order, target: str, actor: Actor) -> None:
        if target == holds.CANCEL_STATE:
            await holds.changed(s, order, service.clock.now(), wh=cfg, board=service.board)

    async def all_scanned(s: AsyncSession, order: Order, target: str, actor: Actor, wf: Workflow,
                          detail: dict[str, Any]) -> None:
        names = wf.definition.names
        if not actor.check_roles or "admin" in actor.roles or detail.get(OVERRIDE) or target not in names \
                or cfg.pick_state not in names or cfg.pack_state not in names:
            return
        if not names.index(cfg.pick_state) < names.index(target) <= names.index(cfg.pack_state):
            return  # only the steps from picking to packed need every unit scanned
        if order.status not in names or names.index(order.status) >= names.index(target):
            return  # back from a side branch (流程 加分支) to where it was: nothing new to check
        task = await task_of(s, order.id)
        if task is None:
            return
        got, want = units(task, await with_lines(s, order))
        if got < want:
            raise InvalidInput(f"订单 {order.order_no} 还有 {want - got} 件没有扫码（已扫 {got}/{want}），"
                               f"不能推进到「{target}」：\n"
                               f"{expected_text(task, order)}\n请逐件扫码；确需放行请仓管发送"
                               f"「推进 {order.order_no} {cfg.pack_state} <原因>」。")

    service.on_enter += [hook, cancelled]
    service.guards.append(all_scanned)
    holds.install_hold_guard(service, pick_state=cfg.pick_state, pack_state=cfg.pack_state)


async def mark_packed(s: AsyncSession, order: Order, now: datetime) -> None:
    """The order was packed outside the buttons (the lead's override): its task is done too."""
    task = await task_of(s, order.id)
    if task is not None and task.state != "packed":
        task.state, task.packed_at = "packed", now
        await refresh(s, task, order, now)
