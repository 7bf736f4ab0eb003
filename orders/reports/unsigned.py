"""The 48-hour follow-up: orders still in 物流揽收 48 h after 揽收 with no 签收 are listed to the
customer-service leads in one message per sweep; each order is listed once (a ``due_items``
marker per order, inserted in the same transaction as the message). 揽收 and 签收 are the
parcel facts' times (``orders.reports.facts``): the carrier's own event times, the workflow's
物流揽收 / 签收确认 entries only when the carrier sent none."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from orders.db import Database
from orders.due import DueItem
from orders.models import Order, Tracking
from orders.outbox import enqueue_text
from orders.reports.facts import PICKED_STATE, ParcelFact, catch_up, epoch
from orders.shown import OrderShown
from orders.users import users_with_role

log = logging.getLogger(__name__)
KIND = "unsigned48"
CHUNK_BYTES = 1900  # WeCom text takes at most 2048 bytes


async def overdue_since(db: Database, order: Order | OrderShown, now: datetime, hours: int = 48) -> datetime | None:
    """The 揽收 time when the order sits in 物流揽收, was picked up ``hours`` ago or more and has
    no 签收 (carrier or workflow); else None. Reads nothing for an order in another state."""
    if order.status != PICKED_STATE:
        return None
    async with db.session() as s:
        row = (await s.execute(select(ParcelFact.picked_at, ParcelFact.signed_at)
                               .where(ParcelFact.order_id == order.id))).first()
    if row is None or row.signed_at is not None or row.picked_at > epoch(now - timedelta(hours=hours)):
        return None
    return datetime.fromtimestamp(row.picked_at, UTC)


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
    cutoff = epoch(now - timedelta(hours=hours))
    try:
        async with db.session() as s:
            await (await s.connection()).run_sync(catch_up)  # bulk-written 揽收 entries
            rows = (await s.execute(
                select(Order.id, Order.order_no, ParcelFact.picked_at)
                .join(ParcelFact, ParcelFact.order_id == Order.id)
                .outerjoin(DueItem, and_(DueItem.kind == KIND, DueItem.ref == Order.order_no))
                .where(Order.status == PICKED_STATE, ParcelFact.picked_at <= cutoff, ParcelFact.signed_at.is_(None),
                       DueItem.id.is_(None))
                .order_by(ParcelFact.picked_at, Order.id))).all()
            if not rows:
                return []
            numbers = {r[0]: r[1] for r in (await s.execute(
                select(Tracking.order_id, Tracking.carrier + " " + Tracking.number)
                .where(Tracking.order_id.in_([r.id for r in rows])))).all()}
            z = ZoneInfo(tz)
            lines = [f"· {r.order_no}（揽收 {datetime.fromtimestamp(r.picked_at, z):%m-%d %H:%M}"
                     f"{'，运单 ' + numbers[r.id] if r.id in numbers else ''}）" for r in rows]
            for r in rows:
                due = datetime.fromtimestamp(r.picked_at, UTC) + timedelta(hours=hours)
                s.add(DueItem(kind=KIND, ref=r.order_no, due_at=due, state="done",
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
