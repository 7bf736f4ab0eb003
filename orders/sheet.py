"""Everything 查 shows about one order, read in one go: the order with its lines, discounts and
tracking, recent timeline, the latest note, an open after-sales case with the step it waits on,
and the parcel's latest carrier scan."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Integer, Select, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from orders import deferred, fast_reads, timeline
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.base import table
from orders.db import dialect_insert
from orders.intake.carriers.scans import scans_of
from orders.intake.models import CarrierScan
from orders.lookup import find_order, find_with
from orders.models import Order, TimelineEvent, Tracking, UserFocus
from orders.service import OrderService
from orders.shown import EventShown, OrderShown, ScanShown, load_shown
from orders.sqlite_driver import inline_reads

NOTE = "note"


@dataclass
class OpenCase:
    case_no: str
    kind: str
    waiting: str  # the step's name, or "" when none is pending


@dataclass
class Sheet:
    order: OrderShown
    recent: list[EventShown]
    note: EventShown | None
    case: OpenCase | None
    scan: ScanShown | None


def _focus(s: AsyncSession) -> Executable:
    """The user's focus upsert (as orders.service.set_focus), for a batch's executemany."""
    ins = dialect_insert(s, UserFocus)
    return ins.on_conflict_do_update(index_elements=["user_id"], set_={"order_id": ins.excluded.order_id,
                                                                      "updated_at": ins.excluded.updated_at})


async def order_sheet(service: OrderService, query: str, *, user_id: str | None = None, last: int = 2) -> Sheet:
    """Two statements after the search: the order (lines, discounts, tracking joined), then what
    is around it (recent events, the latest note, the open case, the latest scan); plain rows,
    no ORM entities (those cost ~0.12 ms more per 查)."""
    with inline_reads():  # key lookups and LIMITed searches: small reads, run on the event loop
        async with service.db.session() as s:
            order = await find_with(s, query, load_shown)
            rows = await fast_reads.rows(await s.connection(), _around(last), {"order_id": order.id})
    events = sorted({r.e_id: EventShown(r.e_id, r.e_at, r.e_actor, r.e_source, r.e_kind, r.e_from, r.e_to, r.e_detail)
                     for r in rows if r.e_id is not None}.values(), key=lambda ev: (ev.at, ev.id))
    notes = [ev for ev in events if ev.kind == NOTE]
    top = rows[0]
    case = OpenCase(top.case_no, top.case_kind, top.waiting or "") if top.case_no is not None else None
    scan = ScanShown(top.s_event_at, top.s_place, top.s_context) if top.s_id is not None else None
    if user_id:  # with the reply's transaction when there is one (the read above stays read-only)
        await deferred.write(service.db, deferred.Rows(_focus, {"user_id": user_id, "order_id": order.id,
                                                                "updated_at": service.clock.now()}))
    return Sheet(order, events[-last:] if last > 0 else [], notes[-1] if notes else None, case, scan)


@functools.cache
def _around(last: int) -> Select[Any]:
    """One statement for everything 查 shows around an order (``:order_id``): a row per event (the
    newest ``last`` and the newest note), each with the newest open after-sales case and its first
    pending step, and the parcel's newest carrier scan; all outer-joined to a one-row base, so
    there is a row when any part (or all) is missing."""
    oid = bindparam("order_id", type_=Integer)
    newest = (TimelineEvent.at.desc(), TimelineEvent.id.desc())
    events = union_all(
        select(select(TimelineEvent.id).where(TimelineEvent.order_id == oid).order_by(*newest).limit(last).subquery()),
        select(select(TimelineEvent.id).where(TimelineEvent.order_id == oid, TimelineEvent.kind == NOTE)
               .order_by(*newest).limit(1).subquery()))
    case_id = (select(AfterSalesCase.id).where(AfterSalesCase.order_id == oid, AfterSalesCase.status == "open")
               .order_by(AfterSalesCase.opened_at.desc()).limit(1).scalar_subquery())
    step = (select(ApprovalStep.name).where(ApprovalStep.case_id == AfterSalesCase.id, ApprovalStep.state == "pending")
            .order_by(ApprovalStep.idx).limit(1).scalar_subquery())
    scan_id = (select(CarrierScan.id)
               .where(CarrierScan.number.in_(select(Tracking.number).where(Tracking.order_id == oid)))
               .order_by(CarrierScan.event_at.desc(), CarrierScan.id.desc()).limit(1).scalar_subquery())
    one = select(literal(1).label("one")).subquery()
    ev, sc = table(TimelineEvent), table(CarrierScan)
    return (select(ev.c.id.label("e_id"), ev.c.at.label("e_at"), ev.c.actor.label("e_actor"),
                   ev.c.source.label("e_source"), ev.c.kind.label("e_kind"), ev.c.from_state.label("e_from"),
                   ev.c.to_state.label("e_to"), ev.c.detail.label("e_detail"),
                   AfterSalesCase.case_no, AfterSalesCase.kind.label("case_kind"), step.label("waiting"),
                   sc.c.id.label("s_id"), sc.c.event_at.label("s_event_at"), sc.c.place.label("s_place"),
                   sc.c.context.label("s_context"))
            .select_from(one).outerjoin(ev, ev.c.id.in_(events))
            .outerjoin(AfterSalesCase, AfterSalesCase.id == case_id).outerjoin(sc, sc.c.id == scan_id))


async def order_track(service: OrderService, query: str) -> tuple[Order, list[TimelineEvent], list[CarrierScan]]:
    """轨迹: the order's whole timeline and its parcels' scans (oldest first)."""
    async with service.db.session() as s:
        order = await find_order(s, query)
        numbers = list((await s.scalars(select(Tracking.number).where(Tracking.order_id == order.id))).all())
        return order, await timeline.events(s, order.id), await scans_of(s, numbers)
