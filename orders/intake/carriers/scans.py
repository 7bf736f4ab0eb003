"""The parcel's own track: every carrier scan kept once per tracking number, read back for 查
(the latest scan) and 轨迹 (interleaved with the order's timeline)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.db import dialect_insert
from orders.intake.carriers import CarrierEvent
from orders.intake.models import CarrierScan


def _digest(number: str, time_text: str, context: str) -> str:
    return hashlib.sha1(f"{number}|{time_text}|{context}".encode()).hexdigest()


async def store_scans(s: AsyncSession, ev: CarrierEvent, now: datetime) -> int:
    """Keep the push's scans; an entry already kept (same number, time, text) is skipped."""
    rows = {}
    for sc in ev.scans:
        d = _digest(ev.number, sc.time_text, sc.context)
        rows[d] = dict(number=ev.number, company=(ev.company or ev.carrier)[:32], event_at=sc.at,
                       event_time=sc.time_text, place=sc.place, status=sc.status, context=sc.context, digest=d,
                       received_at=now)
    if not rows:
        return 0
    res = await s.execute(dialect_insert(s, CarrierScan).values(list(rows.values()))
                          .on_conflict_do_nothing(index_elements=["digest"]))
    return int(getattr(res, "rowcount", 0) or 0)


async def scans_of(s: AsyncSession, numbers: Sequence[str], *, last: int | None = None) -> list[CarrierScan]:
    """The scans of these tracking numbers, oldest first (or only the newest ``last``)."""
    if not numbers:
        return []
    q = select(CarrierScan).where(CarrierScan.number.in_(list(numbers)))
    if last is None:
        return list((await s.scalars(q.order_by(CarrierScan.event_at, CarrierScan.id))).all())
    rows = (await s.scalars(q.order_by(CarrierScan.event_at.desc(), CarrierScan.id.desc()).limit(last))).all()
    return list(reversed(rows))
