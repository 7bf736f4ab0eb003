"""The lead's view of the floor: who has how many tasks (看板), open exception reports (异常) and
resolving one (处理, which ends its hold), and a lead marking a parcel as mis-shipped (错发)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from orders import timeline
from orders.errors import InvalidInput
from orders.models import Order, TimelineEvent, User
from orders.service import Actor
from orders.warehouse import holds
from orders.warehouse.config import WarehouseConfig
from orders.warehouse.duty import on_duty
from orders.warehouse.models import ExceptionReport, WarehouseTask
from orders.workflow import WorkflowDef

MAX_RESULT = 100


@dataclass(frozen=True)
class TempLoad:
    user_id: str
    name: str
    on_duty: bool
    open: int
    done_today: int
    late: int  # open tasks whose order sat in its state past the state's limit
    held: int
    oldest_no: str
    oldest_since: datetime | None


@dataclass(frozen=True)
class Board:
    temps: list[TempLoad]
    unassigned: int  # orders in the assign state without a task


async def board(s: AsyncSession, wf: WorkflowDef, assign_state: str, day: str, now: datetime) -> Board:
    """Every temp on duty or holding open tasks, with counts; plus orders nobody has."""
    rows = (await s.execute(select(WarehouseTask, Order).join(Order, Order.id == WarehouseTask.order_id)
                            .where(or_(WarehouseTask.state != "packed", WarehouseTask.day == day)))).all()
    duty = await on_duty(s)
    ids = list(dict.fromkeys([u.user_id for u in duty] + [t.assignee_id for t, _ in rows]))
    users = {u.user_id: u for u in (await s.scalars(select(User).where(User.user_id.in_(ids)))).all()}
    on = {u.user_id for u in duty}
    temps = []
    for uid in ids:
        mine = [(t, o) for t, o in rows if t.assignee_id == uid]
        open_ = [(t, o) for t, o in mine if t.state != "packed"]
        late = 0
        for _, o in open_:
            st = wf.state(o.status)
            if st and st.limit_hours and now - o.status_since > timedelta(hours=st.limit_hours):
                late += 1
        oldest = min(open_, key=lambda p: p[0].assigned_at, default=None)
        temps.append(TempLoad(uid, users[uid].name if uid in users else uid, uid in on, len(open_),
                              sum(1 for t, _ in mine if t.state == "packed" and t.day == day), late,
                              sum(1 for t, _ in open_ if t.held), oldest[1].order_no if oldest else "",
                              oldest[0].assigned_at if oldest else None))
    unassigned = await s.scalar(select(func.count()).select_from(Order).outerjoin(
        WarehouseTask, WarehouseTask.order_id == Order.id).where(Order.status == assign_state,
                                                                 WarehouseTask.id.is_(None)))
    return Board(temps, int(unassigned or 0))


@dataclass(frozen=True)
class OpenReport:
    report: ExceptionReport
    order_no: str
    reporter: str


async def open_reports(s: AsyncSession, limit: int = 20) -> tuple[list[OpenReport], int]:
    """Reports not resolved yet, oldest first (at most ``limit``), and how many there are."""
    q = (select(ExceptionReport, Order.order_no, User.name).outerjoin(Order, Order.id == ExceptionReport.order_id)
         .outerjoin(User, User.user_id == ExceptionReport.reporter_id)
         .where(ExceptionReport.resolved_at.is_(None)).order_by(ExceptionReport.created_at, ExceptionReport.id))
    total = await s.scalar(select(func.count()).select_from(ExceptionReport)
                           .where(ExceptionReport.resolved_at.is_(None)))
    rows = (await s.execute(q.limit(limit))).all()
    return [OpenReport(r, no or "", name or r.reporter_id) for r, no, name in rows], int(total or 0)


async def resolve(s: AsyncSession, report_id: int, result: str, *, actor: Actor, now: datetime,
                  wh: WarehouseConfig, board: Settings | None = None
                  ) -> tuple[ExceptionReport, Order | None, list[holds.Hold]]:
    """The lead's 处理: close the report (its hold ends), on the timeline; the holds left."""
    result = " ".join(result.split())
    if not result:
        raise InvalidInput("请写明处理结果，例如：处理 12 已换新外箱")
    if len(result) > MAX_RESULT:
        raise InvalidInput(f"处理结果太长（最多{MAX_RESULT}个字）。")
    r = await s.get(ExceptionReport, report_id)
    if r is None:
        raise InvalidInput(f"没有异常上报 #{report_id}。发送「异常」查看待处理的上报。")
    if r.resolved_at is not None:
        raise InvalidInput(f"异常上报 #{r.id} 已于之前处理：{r.resolution}")
    r.resolved_at, r.resolved_by, r.resolution, r.updated_at = now, actor.user_id, result, now
    order = await s.get(Order, r.order_id) if r.order_id else None
    left: list[holds.Hold] = []
    if order is not None:
        timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                        kind="report_resolved", detail={"actor_name": actor.name, "report_id": r.id,
                                                        "summary": f"#{r.id} {r.kind}：{result}"})
        await s.flush()
        await holds.changed(s, order, now, wh=wh, board=board)
        left = await holds.holds_of(s, order)
    return r, order, left


async def mark_misship(s: AsyncSession, order: Order, note: str, *, actor: Actor, now: datetime) -> bool:
    """A lead's 错发: the parcel went out wrong (counted in the digest's 错发率); once per order."""
    known = await s.scalar(select(func.count()).select_from(TimelineEvent).where(
        TimelineEvent.order_id == order.id, TimelineEvent.kind == "misship_marked"))
    if known:
        return False
    timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="misship_marked",
                    detail={"actor_name": actor.name, "summary": note or "错发/漏发"})
    return True
