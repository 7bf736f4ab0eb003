"""What an approver sees as proof on the card: the order's evidence photos (count, the latest
file) and its latest carrier scans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.models import TimelineEvent

SCAN_KINDS = ("state_changed", "exception_opened")
SCANS_SHOWN = 2


@dataclass(frozen=True)
class Proof:
    photos: int
    latest_photo: str  # path under the data dir, "" when none
    scans: tuple[str, ...]  # newest first: "01-23 14:05 已签收"


async def photos_since(s: AsyncSession, order_id: int, since: datetime | None = None) -> int:
    """Evidence photos kept on the order (orders.warehouse.evidence.attach writes one ``evidence``
    timeline row each), optionally only those from ``since`` on."""
    q = select(func.count()).select_from(TimelineEvent).where(TimelineEvent.order_id == order_id,
                                                              TimelineEvent.kind == "evidence")
    if since is not None:
        q = q.where(TimelineEvent.at >= since)
    return int(await s.scalar(q) or 0)


async def proof(s: AsyncSession, order_id: int, tz: str) -> Proof:
    photos = await photos_since(s, order_id)
    latest = await s.scalar(select(TimelineEvent).where(TimelineEvent.order_id == order_id,
                                                        TimelineEvent.kind == "evidence")
                            .order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(1))
    rows = (await s.scalars(select(TimelineEvent).where(TimelineEvent.order_id == order_id,
                                                        TimelineEvent.kind.in_(SCAN_KINDS))
                            .order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(20))).all()
    scans = [ev for ev in rows if ev.detail.get("carrier") and ev.detail.get("label")][:SCANS_SHOWN]
    return Proof(photos=photos, latest_photo=str(latest.detail.get("path", "")) if latest else "",
                 scans=tuple(f"{ev.at.astimezone(ZoneInfo(tz)):%m-%d %H:%M} {ev.detail['label']}" for ev in scans))
