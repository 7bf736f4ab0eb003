"""Holding an order for the warehouse while an after-sales case on it is open: a hub hold flag
``拦截:<reason>`` on ``Order.flags`` (kept across platform re-imports, unlike ``暂停:`` flags), with
a timeline row. Local stand-in with the signature of ``orders.warehouse.holds`` (hold / release),
which replaces it when it lands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orders import timeline
from orders.models import Order
from orders.service import Actor

HUB_PREFIX = "拦截:"


async def hold(s: AsyncSession, order: Order, reason: str, *, actor: Actor, now: datetime) -> None:
    flag = HUB_PREFIX + reason
    if flag in (order.flags or []):
        return
    order.flags = [*(order.flags or []), flag]
    order.updated_at = now
    timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="held",
                    detail={"actor_name": actor.name, "flag": flag, "summary": f"暂停发货：{reason}"})


async def release(s: AsyncSession, order: Order, why: str, *, actor: Actor, now: datetime, only: str) -> None:
    flag = HUB_PREFIX + only
    if flag not in (order.flags or []):
        return
    order.flags = [f for f in order.flags if f != flag]
    order.updated_at = now
    timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="released",
                    detail={"actor_name": actor.name, "flag": flag, "summary": f"解除暂停：{only}（{why}）"})
