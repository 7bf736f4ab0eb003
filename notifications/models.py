"""The outbox table: every message the system sends is a row here first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base

# status: pending -> sending (claimed, with a lease) -> sent | dead (or back to pending to retry)
OUTBOX_STATUSES = ("pending", "sending", "dead", "sent")


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "app": a WeCom app message to users; "webhook": a group robot (target = robot key/name)
    channel: Mapped[str] = mapped_column(String(16), default="app")
    target: Mapped[str] = mapped_column(String(1024))  # "u1|u2" for app, robot name for webhook
    msgtype: Mapped[str] = mapped_column(String(32))  # text, markdown, image, template_card, update_card
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Optional idempotency key: a second enqueue with the same key is skipped.
    dedupe_key: Mapped[str | None] = mapped_column(String(191), unique=True)
    order_id: Mapped[int | None] = mapped_column(Integer)
