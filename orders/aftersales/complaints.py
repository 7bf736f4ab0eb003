"""Complaints as data: ``投诉 <单号> <类型> [说明]`` records one on the order (table + timeline).
After-sales reasons and platform dispute statuses that mean a complaint are counted by the region
report (``config/regions.yaml``), not copied here."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from orders import timeline
from orders.base import Base
from orders.errors import InvalidInput
from orders.lookup import find_order
from orders.models import Order
from orders.service import Actor, OrderService

log = logging.getLogger(__name__)
MAX_NOTE = 200


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(MAX_NOTE), default="")
    actor: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


def usage(kinds: tuple[str, ...]) -> str:
    return f"用法：投诉 <单号> <{'|'.join(kinds)}> [说明]，例如：投诉 BG260122-8812 破损 外箱压坏"


def parse_complaint(args: str, kinds: tuple[str, ...]) -> tuple[str, str, str]:
    """(order query, kind, note); a kind outside the configured list is refused with the list."""
    parts = args.split(maxsplit=2)
    if len(parts) < 2:
        raise InvalidInput(usage(kinds))
    query, kind = parts[0], parts[1]
    note = parts[2].strip() if len(parts) > 2 else ""
    if kind not in kinds:
        raise InvalidInput(f"投诉类型「{kind[:10]}」不对，可选：{'、'.join(kinds)}。\n{usage(kinds)}")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"说明太长（最多{MAX_NOTE}个字）。")
    return query, kind, note


async def record_complaint(service: OrderService, query: str, kind: str, note: str, actor: Actor) -> Order:
    """One complaint row and its timeline entry, in one transaction."""
    now = service.clock.now()
    async with service.db.session() as s:
        order = await find_order(s, query)
        s.add(Complaint(order_id=order.id, kind=kind, note=note, actor=actor.user_id, source=actor.source,
                        created_at=now))
        timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                        kind="complaint", detail={"actor_name": actor.name, "reason": f"{kind} {note}".strip()})
        order.updated_at = now
        log.info("complaint %s on order %s by %s", kind, order.order_no, actor.user_id)
        return order
