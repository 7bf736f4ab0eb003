"""错发率, the warehouse KPI: wrong parcels ÷ parcels packed, for yesterday and the last 7 days,
against the 0.2 % target. A wrong parcel is an order with an after-sales case whose reason names a
mis-shipment (错发/漏发…, ``approvals.yaml: misship_words``) or a lead's ``错发 <单号>`` mark, counted
once per order, on the day it was reported; parcels are orders entering the packed state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.models import AfterSalesCase
from orders.models import TimelineEvent

TARGET = 0.002  # 0.2 %


@dataclass(frozen=True)
class MisshipRate:
    days: int
    wrong: int
    parcels: int

    @property
    def rate(self) -> float:
        return self.wrong / self.parcels if self.parcels else 0.0

    @property
    def on_target(self) -> bool:
        return self.rate < TARGET


async def misship_rate(s: AsyncSession, start: datetime, end: datetime, packed_state: str) -> MisshipRate:
    cases = select(AfterSalesCase.order_id).where(AfterSalesCase.misship.is_(True), AfterSalesCase.opened_at >= start,
                                                  AfterSalesCase.opened_at < end)
    marks = select(TimelineEvent.order_id).where(TimelineEvent.kind == "misship_marked", TimelineEvent.at >= start,
                                                 TimelineEvent.at < end)
    wrong = await s.scalar(select(func.count()).select_from(cases.union(marks).subquery()))
    parcels = await s.scalar(select(func.count()).select_from(TimelineEvent).where(
        TimelineEvent.to_state == packed_state, TimelineEvent.at >= start, TimelineEvent.at < end))
    return MisshipRate(max(1, round((end - start) / timedelta(days=1))), int(wrong or 0), int(parcels or 0))


async def misship_kpi(s: AsyncSession, day_start: datetime, day_end: datetime, packed_state: str
                      ) -> tuple[MisshipRate, MisshipRate]:
    """(yesterday, the 7 days ending yesterday) for the digest."""
    return (await misship_rate(s, day_start, day_end, packed_state),
            await misship_rate(s, day_end - timedelta(days=7), day_end, packed_state))
