"""What the PC board shows: the task wall, orders under risk review, and the review itself.
Each read is a few indexed queries (the bench runs them over a million orders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from orders import timeline
from orders.errors import InvalidInput
from orders.finance.tracing import MISMATCH_FLAG
from orders.intake.brushing import FLAG as BRUSHING_FLAG
from orders.models import Discount, Order, OrderLine, TimelineEvent, User
from orders.privacy import mask_name
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
    # columns only: whole orders would decrypt every buyer's name and address, whole tasks cost ORM objects
    q = (select(WarehouseTask.id, WarehouseTask.order_id, WarehouseTask.assignee_id, WarehouseTask.state,
                WarehouseTask.wrong_scans, WarehouseTask.assigned_at, Order.order_no, Order.status, Order.flags)
         .join(Order, Order.id == WarehouseTask.order_id).where(WarehouseTask.day == day))
    if only_user is not None:
        q = q.where(WarehouseTask.assignee_id == only_user)
    rows = (await s.execute(q)).all()
    ids = [r.order_id for r in rows]
    units = {oid: (int(n), int(q or 0)) for oid, n, q in (await s.execute(
        select(OrderLine.order_id, func.count(), func.sum(OrderLine.qty)).where(OrderLine.order_id.in_(ids))
        .group_by(OrderLine.order_id))).all()} if ids else {}
    by_user: dict[str, list[WallCard]] = {}
    for r in rows:
        n_lines, n_units = units.get(r.order_id, (0, 0))
        by_user.setdefault(r.assignee_id, []).append(WallCard(
            r.id, r.order_no, r.state, r.status, n_units, n_lines, r.wrong_scans, holds_of(r.flags), r.assigned_at))
    names = {uid: name for uid, name in (await s.execute(
        select(User.user_id, User.name).where(User.user_id.in_(list(by_user))))).all()}
    cols = []
    for uid, cards in by_user.items():
        cards.sort(key=lambda c: (c.state == "packed", c.assigned_at))
        cols.append(WallColumn(uid, names.get(uid, uid), tuple(cards)))
    cols.sort(key=lambda c: (-c.open, c.name))
    return cols


@dataclass(frozen=True)
class RiskItem:
    order_id: int
    order_no: str
    channel: str
    flags: tuple[str, ...]
    group: tuple[str, ...]  # brushing: the other orders of the same phone and SKU
    diff_fen: int  # amount mismatch: paid minus what the lines and ledger add up to
    flagged_at: datetime
    buyer: str  # masked name and phone, as in chat
    paid_fen: int
    shipping_fen: int
    lines: tuple[tuple[str, int, int], ...] = ()  # (name, qty, price) when the amounts do not add up
    discounts: tuple[tuple[str, int], ...] = ()  # (label, fen)


@dataclass(frozen=True)
class RiskPage:
    items: list[RiskItem]
    more: bool  # a next page exists


RISK_PAGE = 50
EVENT_BATCH = 500
MAX_EVENTS = 20_000  # how far back the flag history is read for still-open flags


async def risk_orders(s: AsyncSession, limit: int = RISK_PAGE, offset: int = 0) -> RiskPage:
    """Orders still carrying 疑似刷单 or 金额不一致, newest flag first, with their evidence; one page.
    Reads columns only, and decrypts just the buyer names of the page (masked at once)."""
    want = offset + limit + 1
    order_ids: list[int] = []  # still flagged, newest flag first
    first: dict[int, datetime] = {}
    groups: dict[int, list[str]] = {}  # the evidence of brushing: the group recorded when it was flagged
    flags: dict[int, tuple[str, ...]] = {}
    cursor: tuple[datetime, int] | None = None
    for _ in range(MAX_EVENTS // EVENT_BATCH):
        q = (select(TimelineEvent.id, TimelineEvent.order_id, TimelineEvent.at, TimelineEvent.detail)
             .where(TimelineEvent.kind == "flagged")
             .order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(EVENT_BATCH))
        if cursor is not None:
            q = q.where(tuple_(TimelineEvent.at, TimelineEvent.id) < cursor)
        evs = (await s.execute(q)).all()
        fresh = []
        for _id, oid, at, detail in evs:
            if oid not in first:
                first[oid] = at
                fresh.append(oid)
            groups.setdefault(oid, []).extend((detail or {}).get("group", []))
        if fresh:
            for oid, fl in (await s.execute(select(Order.id, Order.flags).where(Order.id.in_(fresh)))).all():
                flags[oid] = tuple(f for f in (fl or []) if f in RISK_FLAGS)
            order_ids += [oid for oid in fresh if flags.get(oid)]
        if len(evs) < EVENT_BATCH or len(order_ids) >= want:
            break
        cursor = (evs[-1].at, evs[-1].id)
    shown = order_ids[offset:offset + limit]
    return RiskPage(await _risk_items(s, shown, first, groups, flags), len(order_ids) > offset + limit)


async def _risk_items(s: AsyncSession, ids: list[int], first: dict[int, datetime], groups: dict[int, list[str]],
                      flags: dict[int, tuple[str, ...]]) -> list[RiskItem]:
    if not ids:
        return []
    rows = {r.id: r for r in (await s.execute(
        select(Order.id, Order.order_no, Order.channel, Order.buyer_name, Order.phone_masked, Order.paid_fen,
               Order.shipping_fen, Order.amount_diff_fen).where(Order.id.in_(ids)))).all()}
    odd = [i for i in ids if i in rows and rows[i].amount_diff_fen]
    lines: dict[int, list[tuple[str, int, int]]] = {}
    discounts: dict[int, list[tuple[str, int]]] = {}
    if odd:
        for oid, name, qty, price in (await s.execute(
                select(OrderLine.order_id, OrderLine.name, OrderLine.qty, OrderLine.price_fen)
                .where(OrderLine.order_id.in_(odd)).order_by(OrderLine.id))).all():
            lines.setdefault(oid, []).append((name, qty, price))
        for oid, label, kind, fen in (await s.execute(
                select(Discount.order_id, Discount.label, Discount.kind, Discount.amount_fen)
                .where(Discount.order_id.in_(odd)).order_by(Discount.id))).all():
            discounts.setdefault(oid, []).append((label or kind, fen))
    items = []
    for oid in ids:
        r = rows.get(oid)
        if r is None:
            continue
        group = tuple(dict.fromkeys(n for n in groups[oid] if n != r.order_no))
        items.append(RiskItem(oid, r.order_no, r.channel, flags[oid], group, r.amount_diff_fen, first[oid],
                              f"{mask_name(r.buyer_name)} {r.phone_masked}".strip(), r.paid_fen, r.shipping_fen,
                              tuple(lines.get(oid, ())), tuple(discounts.get(oid, ()))))
    return items


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
