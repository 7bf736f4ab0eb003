"""The warehouse task wall: assigning orders to temps (by a lead, or round robin on entering
仓库分单), the temp's list for today, and the checks behind the card buttons."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orders import timeline
from orders.errors import InvalidInput
from orders.models import Order, User
from orders.outbox import enqueue_text
from orders.warehouse import holds
from orders.warehouse.config import DEFAULT, WarehouseConfig
from orders.warehouse.models import WarehouseTask

log = logging.getLogger(__name__)
TEMP_ROLE = "warehouse_temp"
STAFF_ROLES = (TEMP_ROLE, "warehouse", "warehouse_lead")  # who picks, packs and reports exceptions


def local_day(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")


async def task_for_order(s: AsyncSession, order_id: int) -> WarehouseTask | None:
    return await s.scalar(select(WarehouseTask).where(WarehouseTask.order_id == order_id))


async def assign(s: AsyncSession, order: Order, assignee: User, by: str, now: datetime, tz: str,
                 source: str = "chat", by_name: str = "", reason: str = "", wh: WarehouseConfig = DEFAULT
                 ) -> WarehouseTask:
    """Give ``order`` to ``assignee`` (re-assigning an unpacked task: the new temp starts the scans
    again, the previous one is told to stop); records it on the timeline and tells the assignee."""
    task = await task_for_order(s, order.id)
    previous = task.assignee_id if task else None
    if task is not None and task.state == "packed":
        raise InvalidInput(f"订单 {order.order_no} 已打包完成，不能再分配。")
    if task is None:
        task = WarehouseTask(order_id=order.id, assignee_id=assignee.user_id, assigned_by=by,
                             day=local_day(now, tz), state="assigned", wrong_scans=0, assigned_at=now)
        s.add(task)
    else:
        if previous != assignee.user_id:
            task.scanned, task.state, task.card_id, task.held = {}, "assigned", "", ""
            await enqueue_text(s, [task.assignee_id], f"订单 {order.order_no} 已改派给 {assignee.name}，请停止拣货，"
                               "已拣商品放回原位。", now, order_id=order.id)
        task.assignee_id, task.assigned_by, task.assigned_at = assignee.user_id, by, now
        task.day = local_day(now, tz)
    order.assignee_id = assignee.user_id
    why = f"（{reason}）" if reason else ""
    timeline.record(s, order_id=order.id, at=now, actor=by, source=source, kind="task_assigned",
                    detail={"actor_name": by_name or by, "summary": f"分配给 {assignee.name}{why}",
                            "assignee": assignee.user_id, "previous": previous})
    await enqueue_text(s, [assignee.user_id], f"新任务：订单 {order.order_no}，发送「任务」查看。", now,
                       order_id=order.id)
    await s.flush()
    await holds.changed(s, order, now, wh=wh)  # a held order's card says so from the start
    return task


async def todays_tasks(s: AsyncSession, user_id: str, day: str) -> list[tuple[WarehouseTask, Order]]:
    """The user's tasks assigned today, and older ones not packed yet (carried over)."""
    rows = (await s.execute(
        select(WarehouseTask, Order).join(Order, Order.id == WarehouseTask.order_id)
        .where(WarehouseTask.assignee_id == user_id,
               or_(WarehouseTask.day == day, WarehouseTask.state != "packed"))
        .options(selectinload(Order.lines))
        .order_by(WarehouseTask.assigned_at, WarehouseTask.id))).all()
    return [(t, o) for t, o in rows]
