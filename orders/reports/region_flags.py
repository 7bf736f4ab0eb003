"""The region flags of each digest day (``region_flags``), so "already flagged yesterday" (持续)
is read as it was said, not recomputed with today's data or config. A day's marker row
(key ``*``) tells "evaluated, nothing flagged" apart from "not evaluated"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Float, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base
from orders.db import dialect_insert
from orders.reports.regions import Flag

MARKER = "*"


class RegionFlagRow(Base):
    __tablename__ = "region_flags"
    __table_args__ = (UniqueConstraint("day", "key", name="uq_region_flags_day_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10))  # local date, YYYY-MM-DD
    key: Mapped[str] = mapped_column(String(80))  # Flag.key: level:code:carrier:metric
    name: Mapped[str] = mapped_column(String(100))
    carrier: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(16))
    rate: Mapped[float] = mapped_column(Float)
    base_rate: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


async def store_flags(s: AsyncSession, day: str, flags: Sequence[Flag], now: datetime) -> None:
    """Replace the day's flags (a second digest the same day keeps the latest). Upserts by (day, key),
    so two processes storing the same day at once both succeed (the later values win)."""
    rows = [dict(day=day, key=MARKER, name="", carrier="", metric="", rate=0.0, base_rate=0.0, n=0, created_at=now)]
    rows += [dict(day=day, key=f.key[:80], name=f.name[:100], carrier=f.carrier[:32], metric=f.metric, rate=f.rate,
                  base_rate=f.base_rate, n=f.n, created_at=now) for f in {f.key: f for f in flags}.values()]
    await s.execute(delete(RegionFlagRow).where(RegionFlagRow.day == day,
                                                RegionFlagRow.key.not_in([r["key"] for r in rows])))
    ins = dialect_insert(s, RegionFlagRow)
    await s.execute(ins.on_conflict_do_update(
        index_elements=["day", "key"],
        set_={c: ins.excluded[c] for c in ("name", "carrier", "metric", "rate", "base_rate", "n", "created_at")}),
        rows)


async def flagged_on(s: AsyncSession, day: str) -> set[str] | None:
    """The flag keys stored for ``day``; None when that day was not evaluated."""
    keys = set((await s.scalars(select(RegionFlagRow.key).where(RegionFlagRow.day == day))).all())
    if MARKER not in keys:
        return None
    return keys - {MARKER}
