"""The escalation sweeper: claims due deadline rows with a compare-and-set UPDATE and writes
their reminders as outbox rows in the same transaction. A row is claimed by exactly one sweep,
so each reminder goes out once — after a restart (a deadline that passed while the process was
down is sent by the first sweep) and with two processes sweeping the same database."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.cases import ESCALATE_LEAD, ESCALATE_MANAGER
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.aftersales.notes import hhmm, tell
from orders.app import App
from orders.due import DueItem
from orders.models import Order
from orders.users import names_of, users_with_role

log = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"
ESCALATIONS = (ESCALATE_LEAD, ESCALATE_MANAGER)


async def claim_due(s: AsyncSession, kinds: tuple[str, ...], now: datetime, worker: str) -> list[DueItem]:
    """Mark every due row of ``kinds`` done and return the ones THIS call changed. On SQLite the
    UPDATE takes the write lock; on PostgreSQL a concurrent claimer re-checks ``state`` after the
    row lock and skips it. Either way a row comes back from exactly one claimer."""
    rows = await s.execute(
        update(DueItem)
        .where(DueItem.state == "due", DueItem.due_at <= now, DueItem.kind.in_(kinds))
        .values(state="done", done_at=now, done_by=worker)
        .returning(DueItem.id, DueItem.kind, DueItem.ref, DueItem.data, DueItem.due_at)
        .execution_options(synchronize_session=False)
    )
    return [DueItem(id=r.id, kind=r.kind, ref=r.ref, data=r.data, due_at=r.due_at) for r in rows]


async def sweep_deadlines(app: App, *, worker: str = WORKER) -> int:
    """One sweep: returns how many deadline rows this call claimed."""
    now = app.clock.now()
    async with app.db.session() as s:
        claimed = await claim_due(s, ESCALATIONS, now, worker)
        for item in claimed:
            await _escalate(s, app, item, now)
    if claimed:
        log.info("sweep %s claimed %d deadline(s)", worker, len(claimed))
    return len(claimed)


async def lead_users(s: AsyncSession, role: str, data: dict[str, Any], department: str) -> list[str]:
    """The lead of a step: its configured ``lead_role``, else ``<role>_lead`` when someone has it,
    else the default lead role (customer-service lead, who owns after-sales); same department first."""
    for candidate in (data.get("lead_role"), f"{role}_lead", data.get("default_lead_role") or "cs_lead"):
        if not candidate:
            continue
        users = await users_with_role(s, str(candidate))
        same = [u for u in users if department and u.department == department]
        if same or users:
            return [u.user_id for u in (same or users)]
    return []


async def _escalate(s: AsyncSession, app: App, item: DueItem, now: datetime) -> None:
    step = await s.get(ApprovalStep, int(item.data["step_id"]))
    if step is None or step.state != "pending":
        log.info("deadline %s: step no longer pending, nothing to send", item.ref)
        return
    case = await s.get(AfterSalesCase, step.case_id)
    order = await s.get(Order, case.order_id) if case else None
    if case is None or order is None or case.status != "open":
        return
    tz = app.settings.tz
    since = hhmm(step.opened_at or now, tz)
    hours = round((now - (step.opened_at or now)).total_seconds() / 3600, 1)
    who = await names_of(s, step.assignees)
    facts = f"售后单 {case.case_no}（订单 {order.order_no}，{case.kind}）"
    key = f"due:{item.id}"
    if item.kind == ESCALATE_LEAD:
        await tell(s, step.assignees, f"⏰ 提醒：{facts}的「{step.name}」{since}起等待您审批，已超过 {hours:g} 小时。"
                   f"请发送「通过 {case.case_no}」或「驳回 {case.case_no} 原因」。", now, order.id, f"{key}:remind")
        leads = await lead_users(s, step.role, item.data, step.department)
        if leads:
            await tell(s, leads, f"⚠️ 升级：{facts}的「{step.name}」已超时 {hours:g} 小时未处理"
                       f"（待处理：{who}）。请跟进，或查看：售后单 {case.case_no}", now, order.id, f"{key}:lead")
        else:
            log.warning("deadline %s: no lead found for role %s", item.ref, step.role)
    else:
        managers = await users_with_role(s, str(item.data.get("manager_role") or "manager"))
        if managers:
            await tell(s, [u.user_id for u in managers], f"🚨 再次升级：{facts}的「{step.name}」已超时 {hours:g} 小时"
                       f"仍未处理（待处理：{who}）。查看：售后单 {case.case_no}", now, order.id, f"{key}:manager")
        else:
            log.warning("deadline %s: no manager to escalate to", item.ref)
    log.info("deadline %s (%s) for %s sent", item.ref, item.kind, case.case_no)
