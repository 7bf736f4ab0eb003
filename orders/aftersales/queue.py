"""待办: the approval steps waiting for a person, and, for a lead, for their department (the
steps whose overdue escalation goes to their lead role), oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.chains import ApprovalConfig
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.models import Order
from orders.service import Actor

MAX_LISTED = 30


@dataclass(frozen=True)
class Waiting:
    case: AfterSalesCase
    step: ApprovalStep
    order_no: str
    mine: bool  # the caller may decide it now (an approver, or the lead of an overdue step)
    overdue: bool
    waited_hours: float  # working hours since it reached its approvers


async def waiting_for(s: AsyncSession, actor: Actor, cfg: ApprovalConfig, now: datetime, tz: str) -> list[Waiting]:
    rows = (await s.execute(
        select(ApprovalStep, AfterSalesCase, Order.order_no)
        .join(AfterSalesCase, AfterSalesCase.id == ApprovalStep.case_id)
        .join(Order, Order.id == AfterSalesCase.order_id)
        .where(ApprovalStep.state == "pending", AfterSalesCase.status == "open")
        .order_by(ApprovalStep.opened_at, ApprovalStep.id))).all()
    roles = set(actor.roles)
    admin = "admin" in roles
    out = []
    for step, case, order_no in rows:
        approver = actor.user_id in step.assignees
        lead = bool(step.lead_role) and step.lead_role in roles
        manager = cfg.manager_role in roles and step.escalated_at is not None
        if not (approver or lead or manager or admin):
            continue
        overdue = step.deadline_at is not None and step.deadline_at <= now
        mine = approver or admin or ((lead or manager) and step.escalated_at is not None)
        waited = cfg.hours_cal.between(step.opened_at or now, now, tz)
        out.append(Waiting(case, step, order_no, mine, overdue, waited))
    return out
