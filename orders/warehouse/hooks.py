"""Automatic assignment: an order entering the assign state goes to the next on-duty temp."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from orders.models import Order
from orders.service import Actor, OrderService
from orders.warehouse.tasks import WarehouseConfig, assign, local_day, next_on_duty, task_for_order

log = logging.getLogger(__name__)


def install_auto_assign(service: OrderService, cfg: WarehouseConfig, tz: str) -> None:
    """Register the on-enter hook (once per service)."""

    async def hook(s: AsyncSession, order: Order, target: str, actor: Actor) -> None:
        if not cfg.auto_assign or target != cfg.assign_state:
            return
        if await task_for_order(s, order.id) is not None:
            return
        now = service.clock.now()
        temp = await next_on_duty(s, cfg, local_day(now, tz))
        if temp is None:
            log.warning("order %s entered %s but no temp is on duty", order.order_no, target)
            return
        await assign(s, order, temp, "system", now, tz, source="system", by_name="系统自动分配")
        log.info("order %s auto-assigned to %s", order.order_no, temp.user_id)

    service.on_enter.append(hook)
