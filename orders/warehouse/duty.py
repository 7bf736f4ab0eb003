"""The on-duty list in the database (上岗 / 下岗), users found by name or id, and the round robin
that gives new orders to the on-duty temp with the fewest tasks today."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.db import dialect_insert
from orders.errors import InvalidInput
from orders.models import Order, User
from orders.warehouse.config import DEFAULT, WarehouseConfig
from orders.warehouse.models import OnDuty, WarehouseTask
from orders.warehouse.tasks import STAFF_ROLES, assign, local_day

log = logging.getLogger(__name__)


async def seed(s: AsyncSession, user_ids: tuple[str, ...], now: datetime) -> None:
    """warehouse.yaml ``on_duty``: add the rows that are missing (a temp taken off duty stays off)."""
    for i, uid in enumerate(user_ids):
        await s.execute(dialect_insert(s, OnDuty).values(user_id=uid, active=True, position=i, since=now, by="yaml")
                        .on_conflict_do_nothing(index_elements=["user_id"]))


async def on_duty(s: AsyncSession) -> list[User]:
    """Active warehouse staff on duty, in round-robin order."""
    rows = (await s.execute(select(User).join(OnDuty, OnDuty.user_id == User.user_id)
                            .where(OnDuty.active.is_(True), User.active.is_(True))
                            .order_by(OnDuty.position, OnDuty.since, OnDuty.user_id))).scalars().all()
    return [u for u in rows if set(STAFF_ROLES) & set(u.roles)]


async def find_staff(s: AsyncSession, who: str) -> User:
    """A warehouse user by id or by name (a name shared by two people is refused)."""
    who = who.strip()
    user = await s.get(User, who)
    if user is None or not user.active:
        named = (await s.scalars(select(User).where(User.name == who, User.active.is_(True)))).all()
        if len(named) > 1:
            raise InvalidInput(f"有{len(named)}位用户叫「{who}」，请用用户ID："
                               + "、".join(f"{u.user_id}" for u in named))
        user = named[0] if named else None
    if user is None:
        raise InvalidInput(f"没有用户「{who[:64]}」，请检查姓名或用户ID。")
    if not set(STAFF_ROLES) & set(user.roles):
        raise InvalidInput(f"{user.name}（{user.user_id}）不是仓库人员，不能分配拣货任务。")
    return user


async def next_on_duty(s: AsyncSession, day: str, *, exclude: str = "") -> User | None:
    """The on-duty temp with the fewest tasks today; ties go to the one on duty first."""
    users = [u for u in await on_duty(s) if u.user_id != exclude]
    if not users:
        return None
    counts = dict((await s.execute(
        select(WarehouseTask.assignee_id, func.count()).where(WarehouseTask.day == day,
                                                              WarehouseTask.assignee_id.in_([u.user_id for u in users]))
        .group_by(WarehouseTask.assignee_id))).all())
    return min(users, key=lambda u: (counts.get(u.user_id, 0), users.index(u)))


async def go_on(s: AsyncSession, user: User, by: str, now: datetime) -> bool:
    """Put ``user`` on duty; False if already on."""
    row = await s.get(OnDuty, user.user_id)
    if row is not None and row.active:
        return False
    last = await s.scalar(select(func.max(OnDuty.position))) or 0
    if row is None:
        s.add(OnDuty(user_id=user.user_id, active=True, position=last + 1, since=now, by=by))
    else:
        row.active, row.position, row.since, row.by = True, last + 1, now, by
    await s.flush()
    log.info("%s on duty (by %s)", user.user_id, by)
    return True


async def go_off(s: AsyncSession, user: User, by: str, by_name: str, now: datetime, tz: str, *,
                 wh: WarehouseConfig = DEFAULT) -> tuple[bool, list[tuple[Order, User | None]]]:
    """Take ``user`` off duty and give their open tasks to the others on duty (round robin);
    returns (was on duty, [(order, new assignee or None when nobody is on duty)])."""
    row = await s.get(OnDuty, user.user_id)
    was = row is not None and row.active
    if row is not None:
        row.active, row.since, row.by = False, now, by
    else:
        s.add(OnDuty(user_id=user.user_id, active=False, position=0, since=now, by=by))
    await s.flush()
    open_ = (await s.execute(select(WarehouseTask, Order).join(Order, Order.id == WarehouseTask.order_id)
                             .where(WarehouseTask.assignee_id == user.user_id, WarehouseTask.state != "packed")
                             .order_by(WarehouseTask.assigned_at, WarehouseTask.id))).all()
    moved: list[tuple[Order, User | None]] = []
    day = local_day(now, tz)
    for task, order in open_:
        other = await next_on_duty(s, day, exclude=user.user_id)
        if other is not None:
            await assign(s, order, other, by, now, tz, by_name=by_name, reason=f"{user.name} 下岗", wh=wh)
            task.scanned, task.state, task.card_id, task.held = {}, "assigned", "", ""
        moved.append((order, other))
    log.info("%s off duty (by %s): %d open tasks reassigned", user.user_id, by, len(moved))
    return was, moved
