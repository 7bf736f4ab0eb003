"""Analytics tables: the customer value pool (rebuilt whole), its segment sizes per build day
(for movement since last week), and the order look-ups (查/轨迹) the collaboration map counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base


class CustomerPoolRow(Base):
    """One buyer of the last build: the matching key (a hash, never a phone) and the metrics."""

    __tablename__ = "customer_pool"
    __table_args__ = (Index("ix_customer_pool_segment", "segment", "amount_fen"),)

    # rowid key (SQLite: the table B-tree only, appended in order): the pool is stored whole at each
    # build, one row per buyer, so no second B-tree is kept for the buyer key
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    buyer_key: Mapped[str] = mapped_column(String(80))  # phone hash, else "id:" + buyer id hash (unique per build)
    last_order_id: Mapped[int] = mapped_column(Integer)  # masked phone and nick are read from it
    orders: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    recency_days: Mapped[float] = mapped_column(Float)
    interval_std_days: Mapped[float | None] = mapped_column(Float)
    interval_cv: Mapped[float | None] = mapped_column(Float)
    channels: Mapped[str] = mapped_column(String(120), default="")  # channels used, comma separated
    channel_from: Mapped[str] = mapped_column(String(20), default="")  # set when the buyer migrated
    channel_to: Mapped[str] = mapped_column(String(20), default="")
    cases: Mapped[int] = mapped_column(Integer, default=0)
    tolerance: Mapped[float | None] = mapped_column(Float)  # cases closed without complaint / cases
    segment: Mapped[str] = mapped_column(String(16))
    high_potential: Mapped[bool] = mapped_column(default=False)
    built_at: Mapped[datetime]


class PoolSize(Base):
    """Segment sizes of one build day (local date), kept for the week-on-week movement."""

    __tablename__ = "customer_pool_sizes"
    __table_args__ = (UniqueConstraint("day", "segment", name="uq_customer_pool_sizes_day_segment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    segment: Mapped[str] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer)


class OrderAsk(Base):
    """Someone looked an order up (查 / 轨迹): who, their department, the order's state and how
    long it had been in it. The collaboration report decides what counts as an interruption."""

    __tablename__ = "order_asks"
    __table_args__ = (Index("ix_order_asks_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(64), default="")
    command: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(32))
    state_since: Mapped[datetime]
    at: Mapped[datetime]
    msg_id: Mapped[str] = mapped_column(String(64), default="")  # the WeCom MsgId (response times)
