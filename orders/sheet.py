"""Everything 查 shows about one order, read in one go: the order with its lines, discounts and
tracking, recent timeline, the latest note, an open after-sales case with the step it waits on,
and the parcel's latest carrier scan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders import deferred, timeline
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.intake.carriers.scans import scans_of
from orders.intake.models import CarrierScan
from orders.lookup import find_order
from orders.models import Order, TimelineEvent, Tracking
from orders.service import OrderService, set_focus

NOTE = "note"


@dataclass
class OpenCase:
    case_no: str
    kind: str
    waiting: str  # the step's name, or "" when none is pending


@dataclass
class Sheet:
    order: Order
    recent: list[TimelineEvent]
    note: TimelineEvent | None
    case: OpenCase | None
    scan: CarrierScan | None


async def order_sheet(service: OrderService, query: str, *, user_id: str | None = None, last: int = 2) -> Sheet:
    async with service.db.session() as s:
        order = await find_order(s, query, full=True)
        recent = await timeline.events(s, order.id, last=last)
        note = await s.scalar(select(TimelineEvent).where(TimelineEvent.order_id == order.id,
                                                          TimelineEvent.kind == NOTE)
                              .order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(1))
        case = None
        row = (await s.execute(select(AfterSalesCase.id, AfterSalesCase.case_no, AfterSalesCase.kind)
                               .where(AfterSalesCase.order_id == order.id, AfterSalesCase.status == "open")
                               .order_by(AfterSalesCase.opened_at.desc()).limit(1))).first()
        if row is not None:
            step = await s.scalar(select(ApprovalStep.name).where(ApprovalStep.case_id == row.id,
                                                                  ApprovalStep.state == "pending")
                                  .order_by(ApprovalStep.idx).limit(1))
            case = OpenCase(row.case_no, row.kind, step or "")
        scans = await scans_of(s, [t.number for t in order.tracking], last=1)
    if user_id:  # with the reply's transaction when there is one (the read above stays read-only)
        oid, now = order.id, service.clock.now()

        async def focus(ws: AsyncSession) -> None:
            await set_focus(ws, user_id, oid, now)

        await deferred.write(service.db, focus)
    return Sheet(order, recent, note, case, scans[-1] if scans else None)


async def order_track(service: OrderService, query: str) -> tuple[Order, list[TimelineEvent], list[CarrierScan]]:
    """轨迹: the order's whole timeline and its parcels' scans (oldest first)."""
    async with service.db.session() as s:
        order = await find_order(s, query)
        numbers = list((await s.scalars(select(Tracking.number).where(Tracking.order_id == order.id))).all())
        return order, await timeline.events(s, order.id), await scans_of(s, numbers)
