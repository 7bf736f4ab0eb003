"""Tables of the warehouse task wall and of voice exception reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base

# WarehouseTask.state: assigned -> picking -> packed
# ExceptionReport.status: transcribed (by the recognizer) | manual (待人工转写)
# ExceptionReport.review: draft -> confirmed | rerecorded
MANUAL = "manual"


class WarehouseTask(Base):
    """One order assigned to one warehouse temp (an order has at most one task)."""

    __tablename__ = "warehouse_tasks"
    __table_args__ = (Index("ix_warehouse_tasks_assignee_day", "assignee_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    assignee_id: Mapped[str] = mapped_column(String(64))
    assigned_by: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))  # local date (settings.tz) of the assignment
    state: Mapped[str] = mapped_column(String(16), default="assigned")
    wrong_scans: Mapped[int] = mapped_column(Integer, default=0)
    assigned_at: Mapped[datetime]
    picked_at: Mapped[datetime | None]
    packed_at: Mapped[datetime | None]


class ExceptionReport(Base):
    """A warehouse exception (damage, missing item, ...) reported by voice. Always kept, even
    when the audio could not be transcribed (status ``manual``: 待人工转写)."""

    __tablename__ = "exception_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    reporter_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    transcript: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    review: Mapped[str] = mapped_column(String(16), default="draft")
    problem: Mapped[str] = mapped_column(String(255), default="")  # why it needs a human, if it does
    media_id: Mapped[str] = mapped_column(String(255), default="")
    audio_path: Mapped[str] = mapped_column(String(255), default="")
    audio_sha256: Mapped[str] = mapped_column(String(64), default="")
    audio_seconds: Mapped[float | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
