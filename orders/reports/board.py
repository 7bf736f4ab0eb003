"""What the PC board shows: the task wall, orders under risk review, and the review itself.
Each read is a few indexed queries (the bench runs them over a million orders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orders import timeline
from orders.errors import InvalidInput
from orders.finance.tracing import MISMATCH_FLAG
from orders.intake.brushing import FLAG as BRUSHING_FLAG
from orders.models import Order, OrderLine, TimelineEvent, User
from orders.warehouse.models import WarehouseTask

RISK_FLAGS = (BRUSHING_FLAG, MISMATCH_FLAG)
CONFIRMED_FLAG = "确认刷单"
VERDICTS = ("确认刷单", "正常")


@dataclass(frozen=True)
class WallCard:
    task_id: int
    order_no: str
    state: str  # task state: assigned / picking / packed
    order_status: str
    items: int  # units on the order
    lines: int
    wrong_scans: int
    holds: tuple[str, ...]
    assigned_at: datetime


@dataclass(frozen=True)
class WallColumn:
    user_id: str
    name: str
    cards: tuple[WallCard, ...]

    @property
    def open(self) -> int:
        return sum(1 for c in self.cards if c.state != "packed")


def holds_of(flags: list[str] | None) -> tuple[str, ...]:
    """Flags that mean "do not ship" (refund on the platform, a hold, a cancel)."""
    return tuple(f for f in (flags or []) if f == "退款中" or f.startswith(("暂停", "拦截")) or f == "已取消")


async def task_wall(s: AsyncSession, day: str, only_user: str | None = None) -> list[WallColumn]:
    """Every temp with tasks on ``day`` (or just ``only_user``), open cards first, oldest waiting first."""
    # columns only: loading whole orders would decrypt every buyer's name and address for nothing
    q = (select(WarehouseTask, Order.order_no, Order.status, Order.flags)
         .join(Order, Order.id == WarehouseTask.order_id).where(WarehouseTask.day == day))
    if only_user is not None:
        q = q.where(WarehouseTask.assignee_id == only_user)
    rows = (await s.execute(q)).all()
    ids = [task.order_id for task, *_ in rows]
    units = {oid: (int(n), int(q or 0)) for oid, n, q in (await s.execute(
        select(OrderLine.order_id, func.count(), func.sum(OrderLine.qty)).where(OrderLine.order_id.in_(ids))
        .group_by(OrderLine.order_id))).all()} if ids else {}
    by_user: dict[str, list[WallCard]] = {}
    for task, order_no, status, flags in rows:
        n_lines, n_units = units.get(task.order_id, (0, 0))
        by_user.setdefault(task.assignee_id, []).append(WallCard(
            task.id, order_no, task.state, status, n_units, n_lines, task.wrong_scans, holds_of(flags),
            task.assigned_at))
    names = {u.user_id: u.name for u in (await s.scalars(select(User).where(User.user_id.in_(list(by_user))))).all()}
    cols = []
    for uid, cards in by_user.items():
        cards.sort(key=lambda c: (c.state == "packed", c.assigned_at))
        cols.append(WallColumn(uid, names.get(uid, uid), tuple(cards)))
    cols.sort(key=lambda c: (-c.open, c.name))
    return cols


@dataclass(frozen=True)
class RiskItem:
    order: Order
    flags: tuple[str, ...]
    group: tuple[str, ...]  # brushing: the other orders of the same phone and SKU
    diff_fen: int  # amount mismatch: paid minus what the lines and ledger add up to
    flagged_at: datetime


async def risk_orders(s: AsyncSession, limit: int = 100) -> list[RiskItem]:
    """Orders still carrying 疑似刷单 or 金额不一致, newest flag first, with their evidence."""
    evs = (await s.scalars(select(TimelineEvent).where(TimelineEvent.kind == "flagged")
                           .order_by(TimelineEvent.at.desc()).limit(limit * 4))).all()
    first: dict[int, TimelineEvent] = {}
    groups: dict[int, list[str]] = {}  # the evidence of brushing: the group recorded when it was flagged
    for ev in evs:
        first.setdefault(ev.order_id, ev)
        groups.setdefault(ev.order_id, []).extend(ev.detail.get("group", []))
    if not first:
        return []
    orders = (await s.scalars(select(Order).where(Order.id.in_(list(first)))
                              .options(selectinload(Order.lines), selectinload(Order.discounts)))).all()
    items = []
    for o in orders:
        flags = tuple(f for f in (o.flags or []) if f in RISK_FLAGS)
        if not flags:
            continue
        group = tuple(dict.fromkeys(n for n in groups[o.id] if n != o.order_no))
        items.append(RiskItem(o, flags, group, o.amount_diff_fen, first[o.id].at))
    items.sort(key=lambda i: i.flagged_at, reverse=True)
    return items[:limit]


async def review_risk(s: AsyncSession, order_no: str, verdict: str, *, actor: str, actor_name: str,
                      now: datetime) -> Order:
    """确认刷单 keeps the order marked (疑似 becomes 确认); 正常 clears the risk flags. On the timeline."""
    if verdict not in VERDICTS:
        raise InvalidInput(f"不认识的结论「{verdict}」，可选：{'、'.join(VERDICTS)}")
    o = await s.scalar(select(Order).where(Order.order_no == order_no))
    if o is None:
        raise InvalidInput(f"没有找到订单「{order_no}」")
    before = list(o.flags or [])
    if not any(f in RISK_FLAGS for f in before):
        raise InvalidInput(f"订单 {order_no} 没有待审的风险标记")
    kept = [f for f in before if f not in RISK_FLAGS]
    o.flags = [*kept, CONFIRMED_FLAG] if verdict == CONFIRMED_FLAG else kept
    timeline.record(s, order_id=o.id, at=now, actor=actor, source="board", kind="risk_reviewed",
                    detail={"actor_name": actor_name, "verdict": verdict, "flags_before": before})
    return o
