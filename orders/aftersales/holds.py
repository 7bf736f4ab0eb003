"""Holding an order for the warehouse while an after-sales case on it is open (a ``暂停:<reason>``
flag on ``Order.flags``, with a timeline row). Local stand-in until the warehouse holds of
``orders.warehouse.holds`` land; the flag format is the same."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orders import timeline
from orders.models import Order
from orders.service import Actor

PREFIX = "暂停:"


def hold(s: AsyncSession, order: Order, reason: str, actor: Actor, now: datetime) -> None:
    flag = PREFIX + reason
    if flag in (order.flags or []):
        return
    order.flags = [*(order.flags or []), flag]
    order.updated_at = now
    timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="held",
                    detail={"actor_name": actor.name, "flag": flag, "summary": f"暂停发货：{reason}"})


def release(s: AsyncSession, order: Order, reason: str, actor: Actor, now: datetime) -> None:
    flag = PREFIX + reason
    if flag not in (order.flags or []):
        return
    order.flags = [f for f in order.flags if f != flag]
    order.updated_at = now
    timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="released",
                    detail={"actor_name": actor.name, "flag": flag, "summary": f"解除暂停：{reason}"})
