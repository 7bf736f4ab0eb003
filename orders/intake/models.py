"""Intake tables: pull cursors per shop, carrier push log, daily settlement results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base


class PullCursor(Base):
    """Where the incremental pull of one shop stands. ``cursor_at`` is the end of the last window
    pulled completely; the next window starts there. A failed window leaves it unchanged."""

    __tablename__ = "pull_cursors"

    shop: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    cursor_at: Mapped[datetime]
    due_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    pulled: Mapped[int] = mapped_column(Integer, default=0)


class CarrierPush(Base):
    """One carrier status push we acted on; a repeated push (same number, state, time) is ignored."""

    __tablename__ = "carrier_pushes"
    __table_args__ = (UniqueConstraint("carrier", "number", "state", "event_time", name="uq_carrier_pushes_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(8))
    event_time: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]


class CarrierScan(Base):
    """One entry of a parcel's own track (a Kuaidi100 ``data`` item), kept per tracking number
    whatever order it belongs to; the same entry pushed again is stored once (``digest``).
    ``event_at`` is the carrier's own time of the scan (UTC), ``event_time`` the text as sent."""

    __tablename__ = "carrier_scans"
    __table_args__ = (Index("ix_carrier_scans_number_at", "number", "event_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    company: Mapped[str] = mapped_column(String(32), default="")
    event_at: Mapped[datetime | None]
    event_time: Mapped[str] = mapped_column(String(32), default="")
    place: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(32), default="")
    context: Mapped[str] = mapped_column(String(255), default="")
    digest: Mapped[str] = mapped_column(String(40), unique=True)
    received_at: Mapped[datetime]


class SettlementDay(Base):
    """Result of ``orderbot reconcile`` for one day; the 09:00 digest reads ``diff_rate_bp``
    (settlement difference rate, 日结差异率, in basis points: 1 bp = 0.01 %)."""

    __tablename__ = "settlement_days"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (local date)
    lines: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    unmatched: Mapped[int] = mapped_column(Integer)
    bank_total_fen: Mapped[int] = mapped_column(Integer)
    expected_total_fen: Mapped[int] = mapped_column(Integer)
    diff_fen: Mapped[int] = mapped_column(Integer)
    diff_rate_bp: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class SettlementUnmatched(Base):
    """A settlement line of a reconciled day that matched no order (or not its amount)."""

    __tablename__ = "settlement_unmatched"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(128))
