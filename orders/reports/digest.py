"""Report queries for the digest. Each is one or a few indexed queries; nothing here scans the
orders table (the bench runs them over a million orders).

Definitions (also in the README):
- stuck: an order whose state has ``limit_hours`` and that has been in it longer than that
  (``Order.status_since``); ranked by how far past the limit it is.
- period: yesterday, midnight to midnight in ORDERBOT_TZ.
- decision time: case opened → case closed (approved through the last step, or rejected).
- first-response time: case opened → the first decision by an approver (``first_response_at``).
- overdue cases: open cases whose current step is past its deadline now.
- mis-ship rate: cases opened in the period whose reason names a mis-shipment (错发/漏发…,
  ``approvals.yaml: misship_words``) ÷ orders that entered the packed state in the period
  (timeline rows); 0 when nothing was packed.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.intake.models import SettlementDay
from orders.models import Order, TimelineEvent
from orders.workflow import WorkflowDef

REFUND_KINDS = ("仅退款", "退货退款", "补偿", "退款", "退货")  # approvals.yaml types (and the old names)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    day: date  # the local day reported on

    @classmethod
    def yesterday(cls, now: datetime, tz: str) -> Period:
        z = ZoneInfo(tz)
        today = now.astimezone(z).date()
        end = datetime.combine(today, time(0), tzinfo=z)
        return cls(start=end - timedelta(days=1), end=end, day=today - timedelta(days=1))


@dataclass(frozen=True)
class StuckOrder:
    order_no: str
    channel: str
    status: str
    since: datetime
    over: timedelta  # past the state's limit


async def stuck_orders(s: AsyncSession, wf: WorkflowDef, now: datetime, top: int = 20, *, state: str = "",
                       channel: str = "", shop: str = "", count_cap: int = 0,
                       ) -> tuple[list[StuckOrder], dict[str, int]]:
    """The ``top`` orders longest past their state's limit, and the count stuck per state;
    optionally only one state, channel or shop (the board's filters). With ``count_cap`` a count
    stops at ``count_cap + 1`` (the board shows "more than"; counting a million rows is slow)."""
    found: list[StuckOrder] = []
    counts: dict[str, int] = {}
    for st in (*wf.states, *wf.branches):  # side branches (拦截中 …) have limits too
        if not st.limit_hours or (state and st.name != state):
            continue
        limit = timedelta(hours=float(st.limit_hours))
        cutoff = now - limit
        where = (Order.status == st.name, Order.status_since < cutoff,
                 *((Order.channel == channel,) if channel else ()), *((Order.shop == shop,) if shop else ()))
        q = select(Order.id).where(*where)
        capped = q.limit(count_cap + 1).subquery() if count_cap else q.subquery()
        counts[st.name] = int(await s.scalar(select(func.count()).select_from(capped)) or 0)
        if not counts[st.name]:
            continue
        rows = (await s.execute(select(Order.order_no, Order.channel, Order.status_since).where(*where)
                                .order_by(Order.status_since).limit(top))).all()
        found += [StuckOrder(r.order_no, r.channel, st.name, r.status_since, now - r.status_since - limit)
                  for r in rows]
    found.sort(key=lambda o: o.over, reverse=True)
    return found[:top], counts


async def refund_reasons(s: AsyncSession, p: Period, top: int = 5) -> dict[str, list[tuple[str, int]]]:
    """Per channel, the ``top`` reasons of refund-type cases opened in the period."""
    n = func.count().label("n")
    rows = (await s.execute(
        select(AfterSalesCase.channel, AfterSalesCase.reason, n)
        .where(AfterSalesCase.opened_at >= p.start, AfterSalesCase.opened_at < p.end,
               AfterSalesCase.kind.in_(REFUND_KINDS))
        .group_by(AfterSalesCase.channel, AfterSalesCase.reason))).all()
    out: dict[str, list[tuple[str, int]]] = {}
    for r in sorted(rows, key=lambda r: (r.channel, -r.n, r.reason)):
        lst = out.setdefault(r.channel, [])
        if len(lst) < top:
            lst.append((r.reason, int(r.n)))
    return out


@dataclass
class CaseStats:
    opened: int = 0
    closed: int = 0
    approved: int = 0
    rejected: int = 0
    overdue: int = 0
    open_now: int = 0
    refund_fen: int = 0
    median_decision: timedelta | None = None
    median_first_response: timedelta | None = None


def _median(values: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values)) if values else None


async def case_stats(s: AsyncSession, p: Period, now: datetime) -> CaseStats:
    st = CaseStats()
    st.opened = int(await s.scalar(select(func.count()).select_from(AfterSalesCase).where(
        AfterSalesCase.opened_at >= p.start, AfterSalesCase.opened_at < p.end)) or 0)
    closed = (await s.execute(select(AfterSalesCase.status, AfterSalesCase.opened_at, AfterSalesCase.closed_at,
                                     AfterSalesCase.refund_fen)
                              .where(AfterSalesCase.closed_at >= p.start, AfterSalesCase.closed_at < p.end))).all()
    st.closed = len(closed)
    st.approved = sum(1 for r in closed if r.status == "approved")
    st.rejected = sum(1 for r in closed if r.status == "rejected")
    st.refund_fen = sum(r.refund_fen for r in closed)
    st.median_decision = _median([r.closed_at - r.opened_at for r in closed])
    st.overdue = int(await s.scalar(select(func.count()).select_from(ApprovalStep).where(
        ApprovalStep.state == "pending", ApprovalStep.deadline_at < now)) or 0)
    st.open_now = int(await s.scalar(select(func.count()).select_from(ApprovalStep).where(
        ApprovalStep.state == "pending")) or 0)
    first = (await s.execute(select(AfterSalesCase.opened_at, AfterSalesCase.first_response_at).where(
        AfterSalesCase.opened_at >= p.start, AfterSalesCase.opened_at < p.end,
        AfterSalesCase.first_response_at.is_not(None)))).all()
    st.median_first_response = _median([r.first_response_at - r.opened_at for r in first])
    return st


@dataclass(frozen=True)
class Misship:
    misshipped: int
    packed: int

    @property
    def rate(self) -> float:
        return self.misshipped / self.packed if self.packed else 0.0


async def misship(s: AsyncSession, p: Period, packed_state: str) -> Misship:
    bad = await s.scalar(select(func.count()).select_from(AfterSalesCase).where(
        AfterSalesCase.opened_at >= p.start, AfterSalesCase.opened_at < p.end, AfterSalesCase.misship.is_(True)))
    packed = await s.scalar(select(func.count()).select_from(TimelineEvent).where(
        TimelineEvent.to_state == packed_state, TimelineEvent.at >= p.start, TimelineEvent.at < p.end))
    return Misship(int(bad or 0), int(packed or 0))


# -- settlement (written by ``orderbot reconcile``) ---------------------------------------------


async def settlement_difference_rate(s: AsyncSession, day: date) -> float | None:
    """The day's settlement difference rate (0..1) where a reconciliation ran, else None."""
    bp = await s.scalar(select(SettlementDay.diff_rate_bp).where(SettlementDay.day == day.isoformat()))
    return bp / 10_000 if bp is not None else None
