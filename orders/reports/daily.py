"""The digest's day figures: per-channel totals for a period (orders, paid amount, shipped, signed,
refunded amount) and the customer-service answer time. Indexed range queries, grouped in SQL.

Definitions (also in the README):
- orders: orders created in the period; paid: the paid amount of orders paid in the period;
  shipped / signed: orders entering the shipped / signed state in the period (timeline rows);
  refunded: the refund amount of after-sales cases closed in the period.
- 客服查单应答时长: for each look-up (查 / 轨迹) over WeCom by a customer-service user in the
  period, from the message arriving (inbox ``received_at``) to the first reply to that user
  being sent (the outbox rows written with the inbox row, ``sent_at``); p50 and p95.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.models import AfterSalesCase
from orders.inbox import InboxMessage
from orders.models import Order, TimelineEvent, User
from orders.outbox import OutboxMessage
from orders.reports.models import OrderAsk

FIGURES = ("orders", "paid_fen", "shipped", "signed", "refund_fen")


@dataclass
class ChannelTotals:
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, channel: str, figure: str, value: int) -> None:
        self.by_channel.setdefault(channel, dict.fromkeys(FIGURES, 0))[figure] += int(value or 0)

    def total(self) -> dict[str, int]:
        out = dict.fromkeys(FIGURES, 0)
        for figs in self.by_channel.values():
            for k, v in figs.items():
                out[k] += v
        return out


async def channel_totals(s: AsyncSession, start: datetime, end: datetime, shipped_state: str,
                         signed_state: str) -> ChannelTotals:
    t = ChannelTotals()
    n = func.count()
    for ch, v in (await s.execute(select(Order.channel, n).where(Order.created_at >= start, Order.created_at < end)
                                  .group_by(Order.channel))).all():
        t.add(ch, "orders", v)
    for ch, v in (await s.execute(select(Order.channel, func.sum(Order.paid_fen))
                                  .where(Order.paid_at >= start, Order.paid_at < end).group_by(Order.channel))).all():
        t.add(ch, "paid_fen", v)
    for figure, state in (("shipped", shipped_state), ("signed", signed_state)):
        q = (select(Order.channel, func.count(func.distinct(TimelineEvent.order_id)))
             .join(Order, Order.id == TimelineEvent.order_id)
             .where(TimelineEvent.to_state == state, TimelineEvent.at >= start, TimelineEvent.at < end)
             .group_by(Order.channel))
        for ch, v in (await s.execute(q)).all():
            t.add(ch, figure, v)
    for ch, v in (await s.execute(select(AfterSalesCase.channel, func.sum(AfterSalesCase.refund_fen))
                                  .where(AfterSalesCase.closed_at >= start, AfterSalesCase.closed_at < end)
                                  .group_by(AfterSalesCase.channel))).all():
        t.add(ch, "refund_fen", v)
    return t


@dataclass(frozen=True)
class AnswerTimes:
    n: int
    p50: timedelta | None
    p95: timedelta | None


def _pct(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


async def cs_answer_times(s: AsyncSession, start: datetime, end: datetime, cs_roles: Sequence[str]) -> AnswerTimes:
    """Question arriving → first reply sent, for look-ups by customer service in the period."""
    asks = (await s.execute(select(OrderAsk.user_id, OrderAsk.msg_id)
                            .where(OrderAsk.at >= start, OrderAsk.at < end, OrderAsk.msg_id != ""))).all()
    if not asks:
        return AnswerTimes(0, None, None)
    users = {r.user_id: r.roles for r in (await s.execute(
        select(User.user_id, User.roles).where(User.user_id.in_({a.user_id for a in asks})))).all()}
    keys = {f"msg:{a.msg_id}" for a in asks if set(users.get(a.user_id) or []) & set(cs_roles)}
    inbox: list[Any] = []
    key_list = sorted(keys)
    for i in range(0, len(key_list), 500):
        inbox += (await s.execute(select(InboxMessage.user_id, InboxMessage.received_at, InboxMessage.processed_at)
                                  .where(InboxMessage.dedupe_key.in_(key_list[i:i + 500]),
                                         InboxMessage.processed_at.is_not(None)))).all()
    if not inbox:
        return AnswerTimes(0, None, None)
    # the replies are outbox rows written in the transaction that finished the inbox row
    # (created_at = processed_at), addressed to the asker alone: one grouped query for all
    lo, hi = min(r.processed_at for r in inbox), max(r.processed_at for r in inbox)
    sent = {(r.target, r.created_at): r.sent for r in (await s.execute(
        select(OutboxMessage.target, OutboxMessage.created_at, func.min(OutboxMessage.sent_at).label("sent"))
        .where(OutboxMessage.created_at >= lo, OutboxMessage.created_at <= hi,
               OutboxMessage.target.in_({r.user_id for r in inbox}), OutboxMessage.sent_at.is_not(None))
        .group_by(OutboxMessage.target, OutboxMessage.created_at))).all()}
    waits = [(sent[(r.user_id, r.processed_at)] - r.received_at).total_seconds() for r in inbox
             if sent.get((r.user_id, r.processed_at)) is not None]
    if not waits:
        return AnswerTimes(0, None, None)
    return AnswerTimes(len(waits), timedelta(seconds=_pct(waits, 50)), timedelta(seconds=_pct(waits, 95)))
