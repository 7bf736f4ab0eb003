"""Tables of the warehouse task wall and of voice exception reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
    __table_args__ = (Index("ix_warehouse_tasks_assignee_day", "assignee_id", "day"),
                      Index("ix_warehouse_tasks_day", "day"))  # 0027: the board's task wall

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
    # Added by 0012_floor: units scanned per order line ({"<line id>": n}) and the WeCom task_id
    # of the last card sent for this task (updated in place when a hold arrives).
    scanned: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    card_id: Mapped[str] = mapped_column(String(128), default="", server_default="")
    held: Mapped[str] = mapped_column(String(255), default="", server_default="")  # holds the card shows


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
    # Added by 0012_floor: a typed description after 异常上报, and the lead's 处理 (which ends the hold).
    description: Mapped[str] = mapped_column(String(255), default="", server_default="")
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    resolution: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Barcode(Base):
    """A product barcode (EAN-13/UPC/EAN-8, or a house code) on a SKU; a SKU may have several.
    ``bin`` is the shelf location shown on task cards, ``spec`` the size/colour."""

    __tablename__ = "barcodes"

    barcode: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    bin: Mapped[str] = mapped_column(String(32), default="")
    spec: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class OnDuty(Base):
    """Who is on the floor (上岗 / 下岗). warehouse.yaml ``on_duty`` seeds missing rows on start;
    a row taken off duty stays (``active`` false), so a restart does not put the temp back."""

    __tablename__ = "warehouse_on_duty"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # tie-break order of the round robin
    since: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(64), default="")
