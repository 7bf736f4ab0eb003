"""The escalation sweeper: claims due deadline rows with a compare-and-set UPDATE and writes
their reminders as outbox rows in the same transaction. A row is claimed by exactly one sweep,
so each reminder goes out once — after a restart (a deadline that passed while the process was
down is sent by the first sweep) and with two processes sweeping the same database."""

from __future__ import annotations

import logging
import os
import socket
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orders import timeline
from orders.aftersales.cases import ESCALATE_LEAD, ESCALATE_MANAGER
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.aftersales.notes import amount_text, when
from orders.app import App
from orders.due import DueItem
from orders.job_lock import try_xact_lock
from orders.models import Order
from orders.outbox import enqueue_text
from orders.users import lead_role_of, names_of, users_with_role

log = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"
ESCALATIONS = (ESCALATE_LEAD, ESCALATE_MANAGER)


async def claim_due(s: AsyncSession, kinds: tuple[str, ...], now: datetime, worker: str) -> list[DueItem]:
    """Mark every due row of ``kinds`` done and return the ones THIS call changed. On SQLite the
    UPDATE takes the write lock; on PostgreSQL rows are taken with ``FOR UPDATE SKIP LOCKED`` (a
    row another sweep is claiming is left to it, and a committed claim is re-checked: ``state``).
    Either way a row comes back from exactly one claimer. On PostgreSQL a claim also holds a
    transaction advisory lock for ``kinds``, tried without waiting: a sweep that finds it taken
    claims nothing, so two sweeps at once never split the due rows between them (each recipient's
    one message lists all their cases; the scheduler's job lock does the same for its own runs)."""
    if not await try_xact_lock(s, "claim-due:" + ",".join(sorted(kinds))):
        return []
    free = (select(DueItem.id).where(DueItem.state == "due", DueItem.due_at <= now, DueItem.kind.in_(kinds))
            .with_for_update(skip_locked=True))
    rows = await s.execute(
        update(DueItem)
        .where(DueItem.id.in_(free.scalar_subquery()))
        .values(state="done", done_at=now, done_by=worker)
        .returning(DueItem.id, DueItem.kind, DueItem.ref, DueItem.data, DueItem.due_at)
        .execution_options(synchronize_session=False)
    )
    return [DueItem(id=r.id, kind=r.kind, ref=r.ref, data=r.data, due_at=r.due_at) for r in rows]


async def sweep_deadlines(app: App, *, worker: str = WORKER) -> int:
    """One sweep: returns how many deadline rows this call claimed. Every case is written on its
    order's timeline; each recipient gets ONE message listing all of their cases."""
    now = app.clock.now()
    async with app.db.session() as s:
        claimed = await claim_due(s, ESCALATIONS, now, worker)
        batch = Batch()
        for item in claimed:
            await _escalate(s, app, item, now, batch)
        await batch.send(s, now)
    if claimed:
        log.info("sweep %s claimed %d deadline(s)", worker, len(claimed))
    return len(claimed)


@dataclass
class Batch:
    """Lines per (recipient, message kind), sent as one message each at the end of a sweep."""

    lines: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    orders: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, to: list[str], what: str, line: str, order_id: int) -> None:
        for uid in to:
            self.lines[(uid, what)].append(line)
            self.orders.setdefault((uid, what), order_id)

    async def send(self, s: AsyncSession, now: datetime) -> None:
        for (uid, what), lines in sorted(self.lines.items()):
            head = HEADS[what].format(n=len(lines))
            tail = "\n请发送「待办」查看，「通过 案号 …」可一次处理多个。"
            order_id = self.orders[(uid, what)] if len(lines) == 1 else None
            await enqueue_text(s, uid, head + "\n" + "\n".join(f"{i}. {ln}" for i, ln in enumerate(lines, 1)) + tail,
                               now, order_id=order_id)


HEADS = {"remind": "⏰ 提醒：{n} 个售后审批已超时，等您处理：",
         "lead": "⚠️ 升级：您部门有 {n} 个售后审批超时未处理（您可直接处理）：",
         "manager": "🚨 再次升级：{n} 个售后审批超时仍未处理："}


async def lead_users(s: AsyncSession, role: str, data: dict[str, Any], department: str) -> tuple[str, list[str]]:
    """The lead of a step and its role: its configured ``lead_role``, else ``<role>_lead`` when
    someone has it (warehouse_lead for warehouse steps), else the default lead role; same
    department first."""
    for candidate in (data.get("lead_role"), lead_role_of(role), data.get("default_lead_role") or "cs_lead"):
        if not candidate:
            continue
        users = await users_with_role(s, str(candidate))
        same = [u for u in users if department and u.department == department]
        if same or users:
            return str(candidate), [u.user_id for u in (same or users)]
    return "", []


async def _escalate(s: AsyncSession, app: App, item: DueItem, now: datetime, batch: Batch) -> None:
    step = await s.get(ApprovalStep, int(item.data["step_id"]))
    if step is None or step.state != "pending":
        log.info("deadline %s: step no longer pending, nothing to send", item.ref)
        return
    case = await s.get(AfterSalesCase, step.case_id)
    order = await s.get(Order, case.order_id) if case else None
    if case is None or order is None or case.status != "open":
        return
    tz = app.settings.tz
    since = when(step.opened_at or now, tz)
    who = await names_of(s, step.assignees)
    facts = f"{case.case_no}（订单 {order.order_no}，{case.kind} {amount_text(case)}）「{step.name}」{since}起"
    if item.kind == ESCALATE_LEAD:
        batch.add(step.assignees, "remind", facts, order.id)
        lead_role, leads = await lead_users(s, step.role, item.data, step.department)
        step.escalated_at = now
        if lead_role:
            step.lead_role = lead_role
        told = await names_of(s, leads) if leads else "无（未找到组长）"
        batch.add(leads, "lead", f"{facts}，待处理：{who}", order.id)
        if not leads:
            log.warning("deadline %s: no lead found for role %s", item.ref, step.role)
        summary = f"{case.case_no}「{step.name}」超时：已提醒 {who}，升级给 {told}"
        kind = "aftersales_escalated"
    else:
        managers = [u.user_id for u in await users_with_role(s, str(item.data.get("manager_role") or "manager"))]
        step.escalated_at = step.escalated_at or now
        batch.add(managers, "manager", f"{facts}，待处理：{who}", order.id)
        if not managers:
            log.warning("deadline %s: no manager to escalate to", item.ref)
        summary = f"{case.case_no}「{step.name}」仍未处理：再次升级给 {await names_of(s, managers) or '无'}"
        kind = "aftersales_escalated_manager"
    timeline.record(s, order_id=order.id, at=now, actor="system", source="schedule", kind=kind,
                    detail={"actor_name": "系统", "case_no": case.case_no, "step": step.name, "summary": summary})
    log.info("deadline %s (%s) for %s recorded", item.ref, item.kind, case.case_no)
