"""After-sales tables: a case (one request on one order) and its approval steps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.base import Base

# case status: open -> approved | rejected
# step state: waiting (not reached yet) -> pending (on someone's desk) -> approved | rejected;
# the submission step is approved at opening; steps after a rejection stay waiting.

class AfterSalesCase(Base):
    __tablename__ = "aftersales_cases"
    __table_args__ = (
        Index("ix_aftersales_cases_opened", "opened_at"),
        Index("ix_aftersales_cases_closed", "closed_at"),
        Index("ix_aftersales_cases_status", "status", "opened_at"),
        Index("ix_aftersales_cases_order_status", "order_id", "status", "opened_at"),  # 0021: an order's open case
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(20), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))  # copied from the order for the digest
    kind: Mapped[str] = mapped_column(String(8))  # a type of approvals.yaml: 仅退款 / 退货退款 / 换货 / 补发 / 补偿
    amount_fen: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(200))
    misship: Mapped[bool] = mapped_column(default=False)  # reason says wrong/missing item shipped
    requester_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    current_step: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]  # first decision by an approver
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    refund_fen: Mapped[int] = mapped_column(Integer, default=0)  # money out, set on final approval
    shipped: Mapped[bool] = mapped_column(default=False)  # the order had shipped when the case opened
    linked_order_id: Mapped[int | None] = mapped_column(Integer)  # shipment order made by 换货 / 补发

    steps: Mapped[list[ApprovalStep]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="ApprovalStep.idx"
    )


class ApprovalStep(Base):
    __tablename__ = "aftersales_steps"
    __table_args__ = (
        Index("ix_aftersales_steps_case_idx", "case_id", "idx", unique=True),
        Index("ix_aftersales_steps_state_deadline", "state", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("aftersales_cases.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    assignees: Mapped[list[str]] = mapped_column(default=list)
    task_id: Mapped[str] = mapped_column(String(64), default="")
    opened_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_name: Mapped[str] = mapped_column(String(64), default="")
    require_photo: Mapped[bool] = mapped_column(default=False)
    lead_role: Mapped[str] = mapped_column(String(32), default="")  # the lead it escalated to (role)
    escalated_at: Mapped[datetime | None]  # overdue: its lead was told and may decide it

    case: Mapped[AfterSalesCase] = relationship(back_populates="steps")

