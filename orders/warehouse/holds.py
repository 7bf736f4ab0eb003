"""Holds: an order that must not leave the warehouse. The one API everything calls.

What counts as a hold (``holds_of``), each with the Chinese reason people see:

- flags on ``Order.flags``: ``退款中`` (platform refunding overlay), ``暂停:<reason>`` (a platform
  hold, replaced on every re-import, see docs/intake.md; after-sales' stand-in uses it too),
  ``拦截:<reason>`` (a hub hold: our ``拦截`` command, or another module calling ``hold()``; kept
  across re-imports);
- the order is in the workflow's cancel state (已取消);
- an exception report on the order not yet resolved by the lead (``处理``);
- an open after-sales case whose kind holds the goods (``HOLDING_CASE_KINDS``: 仅退款, 退货退款).

While an order has a hold: scans and 完成打包 are refused, and nobody (a person: actors with
``check_roles``) may move it into the pick/pack states or past the pack state; outside parties
(imports, carriers) still record what happened. Cancelling stays allowed.

How to use it from another module (one transaction, the caller's session)::

    from orders.warehouse import holds
    await holds.hold(s, order, "仅退款 AS260122-0001", actor=actor, now=now)      # adds 拦截:<reason>
    await holds.release(s, order, "售后关闭", actor=actor, now=now,
                        only="仅退款 AS260122-0001")                               # lifts that one
    current = await holds.holds_of(s, order)                                     # [] = free to go

``hold``/``release`` update the temp's task card in place ("暂停 — 请勿发货：<原因>"), tell the
temp, and when the parcel is already packed tell the warehouse leads to pull it (with the board's
signed order link when ``board=settings`` is passed and ORDERBOT_BOARD_URL is set). After changing a
hold some other way (a flag from an import, a report, a cancel) call ``changed(s, order, now)``
so the card and the temp follow. Pass ``wh=`` the app's warehouse config (``orders.app.WAREHOUSE``)
to every one of them: its pack state and leads (``orders.warehouse.config.lead_ids``: ``leads_role``
and its lead role) decide who is told to pull a packed parcel; without it, the defaults.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from orders import timeline
from orders.aftersales.models import AfterSalesCase
from orders.board_links import link_line, order_path
from orders.errors import InvalidInput
from orders.models import Order
from orders.outbox import enqueue_text
from orders.service import Actor, OrderService
from orders.warehouse import card
from orders.warehouse.config import DEFAULT, WarehouseConfig, lead_ids
from orders.warehouse.models import ExceptionReport
from orders.workflow import Workflow

log = logging.getLogger(__name__)
REFUNDING = "退款中"
PLATFORM_PREFIX = "暂停:"
HUB_PREFIX = "拦截:"
CANCEL_STATE = "已取消"
HOLDING_CASE_KINDS = ("仅退款", "退货退款", "退款", "退货")  # approvals.yaml types (and the older names)
MAX_REASON = 60


@dataclass(frozen=True)
class Hold:
    kind: str  # refund | platform | intercept | cancelled | exception | aftersales
    reason: str  # shown to people
    flag: str = ""  # the Order.flags entry behind it, if any
    ref: str = ""  # report id / case number


def flag_holds(order: Order) -> list[Hold]:
    """The holds carried by the order's flags and state (no queries)."""
    out: list[Hold] = []
    for f in order.flags or []:
        if f == REFUNDING:
            out.append(Hold("refund", "平台退款中", f))
        elif f.startswith(PLATFORM_PREFIX):
            out.append(Hold("platform", f"暂停：{f.removeprefix(PLATFORM_PREFIX)}", f))
        elif f.startswith(HUB_PREFIX):
            out.append(Hold("intercept", f"拦截：{f.removeprefix(HUB_PREFIX)}", f))
    if order.status == CANCEL_STATE:
        out.append(Hold("cancelled", "订单已取消"))
    return out


async def holds_of(s: AsyncSession, order: Order) -> list[Hold]:
    """Every hold on ``order`` now; an empty list means it may be picked, packed and shipped."""
    out = flag_holds(order)
    reports = (await s.scalars(select(ExceptionReport).where(ExceptionReport.order_id == order.id,
                                                             ExceptionReport.resolved_at.is_(None))
                               .order_by(ExceptionReport.id))).all()
    out += [Hold("exception", f"异常上报 #{r.id}（{r.kind}）待仓管处理", ref=str(r.id)) for r in reports]
    cases = (await s.scalars(select(AfterSalesCase).where(AfterSalesCase.order_id == order.id,
                                                          AfterSalesCase.status == "open",
                                                          AfterSalesCase.kind.in_(HOLDING_CASE_KINDS))
                             .order_by(AfterSalesCase.id))).all()
    named = " ".join(h.flag for h in out)  # after-sales may also flag its case (暂停:售后<case no>)
    out += [Hold("aftersales", f"售后单 {c.case_no}（{'仅退款' if c.kind == '退款' else c.kind}）处理中",
                 ref=c.case_no) for c in cases if c.case_no not in named]
    return out


def reasons(holds: list[Hold]) -> str:
    return "；".join(h.reason for h in holds)


async def require_free(s: AsyncSession, order: Order, action: str) -> None:
    """Raise (a Chinese refusal naming the holds) if ``order`` is on hold."""
    found = await holds_of(s, order)
    if found:
        raise InvalidInput(f"⛔ 订单 {order.order_no} 暂停 — 请勿发货（{reasons(found)}），不能{action}。"
                           "解除后再操作：仓管发送「放行 <单号> <原因>」。")


def _clean(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("请填写原因。")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"原因太长（最多{MAX_REASON}个字）。")
    return reason


async def hold(s: AsyncSession, order: Order, reason: str, *, actor: Actor, now: datetime,
               wh: WarehouseConfig = DEFAULT, board: Settings | None = None) -> list[Hold]:
    """Put a hub hold (flag ``拦截:<reason>``) on ``order``; returns all holds now. The same
    reason twice is one hold."""
    flag = HUB_PREFIX + _clean(reason)
    if flag not in (order.flags or []):
        order.flags = [*(order.flags or []), flag]
        order.updated_at = now
        timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="held",
                        detail={"actor_name": actor.name, "reason": flag.removeprefix(HUB_PREFIX),
                                "summary": f"暂停发货：{flag.removeprefix(HUB_PREFIX)}"})
        log.info("order %s held by %s: %s", order.order_no, actor.user_id, flag)
    await s.flush()
    await changed(s, order, now, wh=wh, board=board)
    return await holds_of(s, order)


async def release(s: AsyncSession, order: Order, reason: str, *, actor: Actor, now: datetime,
                  only: str | None = None, wh: WarehouseConfig = DEFAULT,
                  board: Settings | None = None) -> list[Hold]:
    """Lift hub and platform hold flags (``only``: just the hub hold with that reason) and resolve
    the order's open exception reports; returns the holds left (cancel state, open after-sales
    cases: those end with their own process). A platform flag comes back if the next import
    still says so."""
    reason = _clean(reason)
    before = await holds_of(s, order)
    if only is not None:
        lifted = [f for f in order.flags or [] if f == HUB_PREFIX + " ".join(only.split())]
    else:
        lifted = [h.flag for h in before if h.flag]
    reports: list[ExceptionReport] = []
    if only is None:
        reports = list((await s.scalars(select(ExceptionReport).where(
            ExceptionReport.order_id == order.id, ExceptionReport.resolved_at.is_(None)))).all())
    for r in reports:
        r.resolved_at, r.resolved_by, r.resolution, r.updated_at = now, actor.user_id, f"放行：{reason}"[:200], now
    if lifted:
        order.flags = [f for f in order.flags or [] if f not in lifted]
        order.updated_at = now
    if lifted or reports:
        timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="released",
                        detail={"actor_name": actor.name, "reason": reason, "lifted": lifted,
                                "reports": [r.id for r in reports], "summary": f"放行：{reason}"})
        log.info("order %s released by %s: %s", order.order_no, actor.user_id, lifted)
    await s.flush()
    await changed(s, order, now, wh=wh, board=board)
    return await holds_of(s, order)


async def changed(s: AsyncSession, order: Order, now: datetime, *, wh: WarehouseConfig = DEFAULT,
                  board: Settings | None = None) -> None:
    """The order's holds may have changed: refresh its task card in place and tell the temp; if
    the parcel is packed (``wh.pack_state``, not yet handed over), tell the warehouse leads
    (``config.lead_ids``) to pull it (with the board's order link when ``board`` settings have
    ORDERBOT_BOARD_URL). Does nothing when the holds are what the task last showed, so calling it
    twice is harmless."""
    task = await card.task_of(s, order.id)
    if task is None:
        return
    found = await holds_of(s, order)
    sig = reasons(found)[:255]
    if sig == task.held:
        return
    previous, task.held = task.held, sig
    await card.refresh(s, task, order, now)
    if found and task.state != "packed":
        await enqueue_text(s, [task.assignee_id], f"⛔ 订单 {order.order_no} 暂停 — 请勿发货：{sig}。"
                           "请停止拣货，商品放回原位，等待仓管通知。", now, order_id=order.id)
    elif found and order.status in (wh.pack_state, CANCEL_STATE):  # packed, not handed to the carrier yet
        leads = await lead_ids(s, wh)
        link = link_line(board, order_path(order.order_no), now) if board else ""
        await enqueue_text(s, leads, f"⛔ 订单 {order.order_no} 已打包但被暂停（{sig}），请把包裹从待发区拦下，"
                           f"勿交快递。{link}", now, order_id=order.id)
    elif not found and previous and task.state != "packed":
        await enqueue_text(s, [task.assignee_id], f"✅ 订单 {order.order_no} 已解除暂停，可以继续拣货。", now,
                           order_id=order.id)


def install_hold_guard(service: OrderService, *, pick_state: str, pack_state: str) -> None:
    """Refuse a person's move of a held order into the pick/pack states or past the pack state."""

    async def guard(s: AsyncSession, order: Order, target: str, actor: Actor, wf: Workflow,
                    detail: dict[str, Any]) -> None:
        if not actor.check_roles:
            return  # outside parties (imports, carriers) record what already happened
        names = wf.definition.names
        past = (pack_state in names and target in names and order.status in names
                and names.index(target) > names.index(pack_state) >= names.index(order.status))
        if target in (pick_state, pack_state) or past:
            await require_free(s, order, f"推进到「{target}」")

    service.guards.append(guard)
