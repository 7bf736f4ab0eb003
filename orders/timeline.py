"""Timeline rows: who did what to an order, when, and from which channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.models import SOURCES, TimelineEvent


def record(
    session: AsyncSession,
    *,
    order_id: int,
    at: datetime,
    actor: str,
    source: str,
    kind: str,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: dict[str, Any] | None = None,
) -> TimelineEvent:
    if source not in SOURCES:
        raise ValueError(f"unknown timeline source {source!r}")
    ev = TimelineEvent(order_id=order_id, at=at, actor=actor, source=source, kind=kind,
                       from_state=from_state, to_state=to_state, detail=detail or {})
    session.add(ev)
    return ev


async def events(session: AsyncSession, order_id: int, *, last: int | None = None) -> list[TimelineEvent]:
    q = select(TimelineEvent).where(TimelineEvent.order_id == order_id)
    if last is None:
        rows = (await session.scalars(q.order_by(TimelineEvent.at, TimelineEvent.id))).all()
        return list(rows)
    rows = (await session.scalars(q.order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(last))).all()
    return list(reversed(rows))
