"""The 48-hour follow-up: orders still in 物流揽收 48 h after it (no 签收) are listed to the
customer-service leads in one message per sweep; each order is listed once (a ``due_items``
marker per order, inserted in the same transaction as the message)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from orders.db import Database
from orders.due import DueItem
from orders.models import Order, Tracking
from orders.outbox import enqueue_text
from orders.reports.parcels import PICKED_STATE
from orders.users import users_with_role

log = logging.getLogger(__name__)
KIND = "unsigned48"
CHUNK_BYTES = 1900  # WeCom text takes at most 2048 bytes


def overdue_unsigned(order: Order, now: datetime, hours: int = 48) -> bool:
    """Picked up ``hours`` ago or more and still not signed (the order sits in 物流揽收)."""
    return order.status == PICKED_STATE and order.status_since + timedelta(hours=hours) <= now


def _chunks(header: str, lines: list[str]) -> list[str]:
    out, cur = [], header
    for ln in lines:
        if len(f"{cur}\n{ln}".encode()) > CHUNK_BYTES:
            out.append(cur)
            cur = f"（续）{header}"
        cur = f"{cur}\n{ln}"
    return [*out, cur]


async def sweep_unsigned(db: Database, now: datetime, tz: str, *, hours: int = 48, role: str = "cs_lead",
                         worker: str = "") -> list[str]:
    """One message listing every order newly past ``hours`` since 揽收 without 签收; returns
    their numbers ([] when none, or when another process listed them first)."""
    cutoff = now - timedelta(hours=hours)
    try:
        async with db.session() as s:
            rows = (await s.execute(
                select(Order.id, Order.order_no, Order.status_since)
                .outerjoin(DueItem, and_(DueItem.kind == KIND, DueItem.ref == Order.order_no))
                .where(Order.status == PICKED_STATE, Order.status_since <= cutoff, DueItem.id.is_(None))
                .order_by(Order.status_since))).all()
            if not rows:
                return []
            numbers = {r[0]: r[1] for r in (await s.execute(
                select(Tracking.order_id, Tracking.carrier + " " + Tracking.number)
                .where(Tracking.order_id.in_([r.id for r in rows])))).all()}
            z = ZoneInfo(tz)
            lines = [f"· {r.order_no}（揽收 {r.status_since.astimezone(z):%m-%d %H:%M}"
                     f"{'，运单 ' + numbers[r.id] if r.id in numbers else ''}）" for r in rows]
            for r in rows:
                s.add(DueItem(kind=KIND, ref=r.order_no, due_at=r.status_since + timedelta(hours=hours), state="done",
                              data={}, created_at=now, done_at=now, done_by=worker))
            await s.flush()  # unique (kind, ref): a second process stops here
            to = [u.user_id for u in await users_with_role(s, role)]
            header = f"⏰ 以下 {len(rows)} 单揽收已超{hours}小时仍未签收，请跟进签收反馈："
            for part in _chunks(header, lines):
                await enqueue_text(s, to, part, now)
    except IntegrityError:
        log.info("unsigned %dh follow-up listed by another process", hours)
        return []
    log.info("unsigned %dh follow-up: %d orders to %s", hours, len(rows), role)
    return [r.order_no for r in rows]
