"""Due items: deadlines and daily markers as rows. APScheduler is only the clock; a sweep claims
due rows with a compare-and-set so each is acted on exactly once, whatever restarts or runs twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base

# state: due -> done (claimed and its messages written) | cancelled (no longer needed)


class DueItem(Base):
    __tablename__ = "due_items"
    __table_args__ = (
        UniqueConstraint("kind", "ref", name="uq_due_items_kind_ref"),
        Index("ix_due_items_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # escalate_lead, escalate_manager, digest
    ref: Mapped[str] = mapped_column(String(128))  # what it is about: a step id, "digest:2026-01-22"
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="due")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str] = mapped_column(String(64), default="")  # which process claimed it
