"""Side branches of the workflow (拦截中, 缺货挂起 …): an order enters one from any of its
``from`` states and returns to the state it came from, read off the order's timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.models import Order, TimelineEvent


async def branch_origin(s: AsyncSession, order: Order) -> str | None:
    """The state ``order`` entered its current state from (None when nothing recorded it)."""
    row = await s.scalar(select(TimelineEvent.from_state).where(
        TimelineEvent.order_id == order.id, TimelineEvent.to_state == order.status,
        TimelineEvent.from_state.is_not(None)).order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(1))
    return str(row) if row else None
