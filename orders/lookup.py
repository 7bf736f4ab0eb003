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
    """One order, or OrderNotFound / AmbiguousOrder. ``full`` also loads lines, discounts, tracking.
    Candidates are looked up by number only; the full row is loaded once the match is unique."""
    q = normalize(query)
    opts = [selectinload(Order.lines), selectinload(Order.discounts), selectinload(Order.tracking)] if full else []
    found = await session.scalar(select(Order).where(Order.order_no == q).options(*opts))
    if found is not None:
        return found
    hits = (await session.execute(
        select(Order.id, Order.order_no).where(Order.channel_order_id == q).limit(MAX_LISTED + 1))).all()
    if not hits and len(q) >= MIN_SUFFIX:
        rev = q[::-1]
        hits = (await session.execute(
            select(Order.id, Order.order_no)
            .where(Order.order_no_rev >= rev, Order.order_no_rev < _next_prefix(rev))
            .order_by(Order.created_at.desc())
            .limit(MAX_LISTED + 1)
        )).all()
    if not hits:
        raise OrderNotFound(q)
    if len(hits) > 1:
        raise AmbiguousOrder(q, [h.order_no for h in hits[:MAX_LISTED]], len(hits) > MAX_LISTED)
    order = await session.scalar(select(Order).where(Order.id == hits[0].id).options(*opts))
    assert order is not None
    return order
