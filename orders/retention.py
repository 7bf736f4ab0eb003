"""Retention of raw payloads: a handled inbox message loses its XML at once (orders.inbox), a
delivered outbox row its message (notifications.worker); after ``ORDERBOT_RETENTION_DAYS``
(default 30) whatever raw payload is left (failed inbox rows, dead or sent outbox rows) is purged.
The rows stay, so WeCom's MsgId dedupe and the delivery history keep working."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import update

from orders.db import Database
from orders.inbox import InboxMessage
from orders.outbox import OutboxMessage


class Purged(NamedTuple):
    inbox: int
    outbox: int


async def purge_raw(db: Database, now: datetime, days: int) -> Purged:
    cutoff = now - timedelta(days=days)
    async with db.session() as s:
        inbox = (await s.scalars(update(InboxMessage)
                                 .where(InboxMessage.received_at < cutoff, InboxMessage.xml != "",
                                        InboxMessage.status.in_(("done", "failed")))
                                 .values(xml="").returning(InboxMessage.id))).all()
        outbox = (await s.scalars(update(OutboxMessage)
                                  .where(OutboxMessage.created_at < cutoff, OutboxMessage.payload != {},
                                         OutboxMessage.status.in_(("sent", "dead")))
                                  .values(payload={}).returning(OutboxMessage.id))).all()
    return Purged(len(inbox), len(outbox))
