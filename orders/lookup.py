"""Finding an order from what a person typed: full number, platform id, or a unique suffix."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orders.errors import AmbiguousOrder, InvalidInput, OrderNotFound
from orders.models import Order

MIN_SUFFIX = 4
MAX_LISTED = 10
MAX_QUERY = 40


def normalize(query: str) -> str:
    q = query.strip().upper().lstrip("#")
    if not q:
        raise InvalidInput("请提供订单号，例如：查 BG260122-8812 或 查 8812")
    if len(q) > MAX_QUERY:
        raise InvalidInput(f"订单号太长（最多{MAX_QUERY}个字符）。")
    return q


def _next_prefix(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def find_order(session: AsyncSession, query: str, *, full: bool = False) -> Order:
    """One order, or OrderNotFound / AmbiguousOrder. ``full`` also loads lines, discounts, tracking."""
    q = normalize(query)
    opts = [selectinload(Order.lines), selectinload(Order.discounts), selectinload(Order.tracking)] if full else []
    found = await session.scalar(select(Order).where(Order.order_no == q).options(*opts))
    if found is not None:
        return found
    by_channel = (await session.scalars(
        select(Order).where(Order.channel_order_id == q).options(*opts).limit(MAX_LISTED + 1))).all()
    if len(by_channel) == 1:
        return by_channel[0]
    if len(by_channel) > 1:
        raise AmbiguousOrder(q, [o.order_no for o in by_channel[:MAX_LISTED]], len(by_channel) > MAX_LISTED)
    if len(q) < MIN_SUFFIX:
        raise OrderNotFound(q)
    rev = q[::-1]
    rows = (await session.scalars(
        select(Order)
        .where(Order.order_no_rev >= rev, Order.order_no_rev < _next_prefix(rev))
        .order_by(Order.created_at.desc())
        .options(*opts)
        .limit(MAX_LISTED + 1)
    )).all()
    if not rows:
        raise OrderNotFound(q)
    if len(rows) > 1:
        raise AmbiguousOrder(q, [o.order_no for o in rows[:MAX_LISTED]], len(rows) > MAX_LISTED)
    return rows[0]
