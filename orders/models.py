"""Core tables: orders, lines, discounts, tracking, users, timeline, workflow versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.base import Base
from orders.crypto import EncryptedText


def reversed_key(key: str) -> str:
    """What a reversed-key column holds (suffix search on an index): the key upper-cased and reversed."""
    return key.upper()[::-1]


def _rev(ctx: Any, column: str) -> str:
    """Insert default of a reversed-key column."""
    return reversed_key(str(ctx.get_current_parameters().get(column) or ""))


SOURCES = ("chat", "voice", "button", "import", "schedule", "system", "board")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "channel_order_id", name="uq_orders_channel_order"),
        Index("ix_orders_status_since", "status", "status_since"),
        # search keys (0021_search_cover): the newest matches straight from the index; on PostgreSQL
        # the reversed keys are indexed COLLATE "C" (orders.lookup compares them in byte order)
        Index("ix_orders_order_no_rev_created", "order_no_rev", "created_at"),
        Index("ix_orders_channel_order_id_rev_created", "channel_order_id_rev", "created_at"),
        Index("ix_orders_phone_last4_created_mask", "phone_last4", "created_at", "phone_masked"),
        Index("ix_orders_phone_hash_created", "phone_hash", "created_at"),
        Index("ix_orders_status_channel_since", "status", "channel", "status_since"),  # 0027: the board's
        Index("ix_orders_status_shop_since", "status", "shop", "status_since"),  # 超时订单 filters
        Index("ix_orders_name_hash_created", "name_hash", "created_at"),
        Index("ix_orders_nick_hash_created", "nick_hash", "created_at"),
        Index("ix_orders_created_at", "created_at"),  # 0018: the digest's per-day totals
        Index("ix_orders_paid_at", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(40), unique=True)
    # order_no reversed: a suffix search becomes an indexed prefix range scan.
    order_no_rev: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    channel_order_id: Mapped[str] = mapped_column(String(64), index=True)
    shop: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(32))
    status_since: Mapped[datetime]
    flags: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # personal data at rest (orders.crypto, README "Privacy"): name and street encrypted, the phone
    # as a 3+4 mask, a keyed hash for matching, and its digest sealed for rotating that key
    buyer_name: Mapped[str] = mapped_column(EncryptedText, default="")
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    phone_hash: Mapped[str] = mapped_column(String(64), default="")
    phone_sealed: Mapped[str] = mapped_column(EncryptedText, default="", server_default="")
    province: Mapped[str] = mapped_column(String(32), default="")
    city: Mapped[str] = mapped_column(String(32), default="")
    district: Mapped[str] = mapped_column(String(32), default="")
    address_detail: Mapped[str] = mapped_column(EncryptedText, default="")
    goods_total_fen: Mapped[int] = mapped_column(Integer, default=0)
    shipping_fen: Mapped[int] = mapped_column(Integer, default=0)
    discount_total_fen: Mapped[int] = mapped_column(Integer, default=0)
    paid_fen: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[str | None] = mapped_column(String(64), index=True)
    note: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Added by the intake (0003_intake): the platform's own status code as last seen, and the
    # amount difference paid - (goods - discounts + shipping) in fen (0 = adds up).
    platform_status: Mapped[str] = mapped_column(String(32), default="", server_default="")
    amount_diff_fen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Search keys (0011_search): platform id reversed (suffix search), the mobile's last 4 (already
    # visible in the mask), keyed hashes of the buyer's name and platform nickname (orders.privacy).
    channel_order_id_rev: Mapped[str] = mapped_column(
        String(64), default=lambda ctx: _rev(ctx, "channel_order_id"), server_default="")
    phone_last4: Mapped[str] = mapped_column(String(4), default="", server_default="")
    name_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    nick_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # The latest 备注 typed in chat (the timeline keeps every one); shown by 查 and on the task card.
    staff_note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # 0018: the platform buyer id as a matching hash (orders.privacy.hash_buyer_id), for buyers
    # who gave no phone; one buyer across channels is matched by phone hash, else by this.
    buyer_id_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    buyer_id_sealed: Mapped[str] = mapped_column(EncryptedText, default="", server_default="")  # 0013_privacy

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    discounts: Mapped[list[Discount]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Discount.id"
    )
    tracking: Mapped[list[Tracking]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Tracking.id"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    qty: Mapped[int] = mapped_column(Integer)
    price_fen: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")


class Discount(Base):
    """One discount line of an order: a ledger row for amount tracing."""

    __tablename__ = "discounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))  # coupon, full_reduction, red_packet, points, ...
    source: Mapped[str] = mapped_column(String(64), default="")  # platform field it came from
    label: Mapped[str] = mapped_column(String(128), default="")
    promotion_id: Mapped[str] = mapped_column(String(64), default="")
    offered_by: Mapped[str] = mapped_column(String(16), default="unknown")
    borne_by: Mapped[str] = mapped_column(String(16), default="unknown")
    # Positive: reduces what the buyer pays. Negative: adds to it (e.g. a freight subsidy).
    amount_fen: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="discounts")


class Tracking(Base):
    __tablename__ = "tracking_numbers"
    __table_args__ = (UniqueConstraint("carrier", "number", name="uq_tracking_carrier_number"),
                      Index("ix_tracking_numbers_number_rev_order", "number_rev", "order_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64), index=True)
    number_rev: Mapped[str] = mapped_column(String(64), default=lambda ctx: _rev(ctx, "number"), server_default="")
    created_at: Mapped[datetime]

    order: Mapped[Order] = relationship(back_populates="tracking")


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(64), default="")
    roles: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_order_at", "order_id", "at"), Index("ix_timeline_kind_at", "kind", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WorkflowVersion(Base):
    """Each saved workflow definition; the highest version is the one in force."""

    __tablename__ = "workflow_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class Conversation(Base):
    """A pending multi-step exchange with one user (e.g. 'send the voice report next')."""

    __tablename__ = "conversations"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime]


class OrderCounter(Base):
    """Per-day sequence for hub order numbers (BG<yymmdd>-<seq>)."""

    __tablename__ = "order_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class UserFocus(Base):
    """The order a user is working on (last one they looked at or changed); an image or voice
    message without an order number attaches to it."""

    __tablename__ = "user_focus"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class CommandUsage(Base):
    """How often a user ran each command (the greeting names their three most used)."""

    __tablename__ = "command_usage"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    command: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime]
