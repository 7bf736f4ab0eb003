"""Order operations. Each is one transaction: the change, its timeline rows, its outbox rows."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from statemachine.exceptions import TransitionNotAllowed

from config import Settings
from orders import timeline
from orders.address import Recipient, parse_recipient
from orders.carriers import check_number, find_carrier
from orders.clock import Clock
from orders.db import Database, dialect_insert
from orders.errors import IllegalTransition, InvalidInput, NotPermitted, StaleOrder
from orders.lookup import find_order
from orders.models import Order, TimelineEvent, Tracking, UserFocus
from orders.outbox import enqueue_text
from orders.privacy import buyer_columns, mask_detail, mask_name, mask_phone
from orders.users import RoleBook, users_with_role
from orders.workflow import Workflow, WorkflowRegistry
from orders.workflow_branches import branch_origin

log = logging.getLogger(__name__)
MAX_REASON = 200
TRACKING_RE = re.compile(r"^[A-Za-z0-9-]{6,40}$")


@dataclass(frozen=True)
class Actor:
    """Who acts, and through which channel (a timeline source)."""

    user_id: str
    name: str
    roles: tuple[str, ...] = ()
    source: str = "chat"
    check_roles: bool = True

    @classmethod
    def system(cls, source: str = "system", name: str = "系统") -> Actor:
        return cls(user_id="system", name=name, roles=("admin",), source=source, check_roles=False)


@dataclass
class Moved:
    order: Order
    from_state: str
    to_state: str
    workflow: Workflow
    notified: list[str] = field(default_factory=list)


@dataclass
class Detail:
    order: Order
    recent: list[TimelineEvent]
    workflow: Workflow


EnterHook = Callable[[AsyncSession, Order, str, "Actor"], Awaitable[None]]
# Called before a move; raises a DomainError to refuse it (e.g. a held order, orders/warehouse/holds.py).
GuardHook = Callable[[AsyncSession, Order, str, "Actor", Workflow, dict[str, Any]], Awaitable[None]]


class OrderService:
    def __init__(self, db: Database, clock: Clock, workflows: WorkflowRegistry, roles: RoleBook, *,
                 board: Settings | None = None) -> None:
        self.db = db
        self.clock = clock
        self.workflows = workflows
        self.roles = roles
        self.board = board  # settings for board links in notifications sent from hooks (None: no links)
        # Called inside the transaction after an order enters a state (e.g. auto-assignment).
        self.on_enter: list[EnterHook] = []
        self.guards: list[GuardHook] = []

    async def focused(self, user_id: str) -> Order | None:
        async with self.db.session() as s:
            f = await s.get(UserFocus, user_id)
            return await s.get(Order, f.order_id) if f else None

    async def detail(self, query: str, *, last: int = 5, user_id: str | None = None) -> Detail:
        async with self.db.session() as s:
            order = await find_order(s, query, full=True)
            recent = await timeline.events(s, order.id, last=last)
            if user_id:
                await set_focus(s, user_id, order.id, self.clock.now())
            return Detail(order, recent, await self.workflows.current(s))

    async def history(self, query: str) -> tuple[Order, list[TimelineEvent]]:
        async with self.db.session() as s:
            order = await find_order(s, query)
            return order, await timeline.events(s, order.id)

    async def advance(self, query: str, actor: Actor, target: str | None = None) -> Moved:
        try:
            async with self.db.session() as s:
                order = await find_order(s, query)
                wf = await self.workflows.current(s)
                if target is None and wf.definition.branch(order.status):  # a side branch leads back
                    target = await branch_origin(s, order)
                if target is None:
                    target = wf.next_state(order.status)
                    if target is None:
                        raise IllegalTransition(order.order_no, order.status, None, wf.allowed(order.status))
                return await self.move(s, order, target, actor, wf=wf)
        except StaleDataError:
            raise await self._stale(query) from None

    async def cancel(self, query: str, actor: Actor, reason: str) -> Moved:
        reason = _text(reason, "取消原因", MAX_REASON)
        try:
            async with self.db.session() as s:
                order = await find_order(s, query)
                wf = await self.workflows.current(s)
                if wf.definition.cancel is None:
                    raise InvalidInput("当前流程没有取消状态。")
                return await self.move(s, order, wf.definition.cancel.name, actor, wf=wf,
                                       kind="cancelled", detail={"reason": reason})
        except StaleDataError:
            raise await self._stale(query) from None

    async def move(
        self,
        s: AsyncSession,
        order: Order,
        target: str,
        actor: Actor,
        *,
        wf: Workflow | None = None,
        kind: str = "state_changed",
        detail: dict[str, Any] | None = None,
        passing: bool = False,
    ) -> Moved:
        """Move ``order`` to ``target`` inside the caller's session (used by every caller that
        changes state: chat, buttons, imports, carriers). Checks the workflow and the roles.
        ``passing``: the order only passes through ``target`` on its way further (an outside
        party skipped states): recorded on the timeline, but no on-enter notices or hooks."""
        wf = wf or await self.workflows.current(s)
        current = order.status
        if target not in wf.definition.all_names:
            allowed = "、".join(wf.allowed(current)) or "无（已是终态）"
            raise InvalidInput(f"没有「{target[:20]}」这个状态。用法：推进 <单号> [状态]；订单 {order.order_no} "
                               f"当前「{current}」，可推进到：{allowed}")
        try:
            wf.move(current, target)
        except TransitionNotAllowed:
            raise IllegalTransition(order.order_no, current, target, wf.allowed(current)) from None
        if wf.definition.branch(current) and not (wf.definition.cancel and target == wf.definition.cancel.name):
            origin = await branch_origin(s, order)  # a side branch returns where the order came from
            if origin and target != origin:
                raise IllegalTransition(order.order_no, current, target, [origin])
        allowed_roles = wf.definition.roles_into(target)
        if actor.check_roles and "admin" not in actor.roles and not set(actor.roles) & set(allowed_roles):
            raise NotPermitted(f"把订单推进到「{target}」", self.roles.labels(list(allowed_roles)))
        for guard in self.guards:
            await guard(s, order, target, actor, wf, detail or {})
        now = self.clock.now()
        order.status = target
        order.status_since = now
        order.updated_at = now
        timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind=kind,
                        from_state=current, to_state=target, detail={"actor_name": actor.name, **(detail or {})})
        notified = [] if passing else await self._notify_enter(s, wf, order, target, actor)
        for hook in [] if passing else self.on_enter:
            await hook(s, order, target, actor)
        if actor.user_id != "system":
            await set_focus(s, actor.user_id, order.id, now)
        await s.flush()  # raises StaleDataError if someone else moved it first
        log.info("order %s: %s -> %s by %s via %s", order.order_no, current, target, actor.user_id, actor.source)
        return Moved(order, current, target, wf, notified)

    async def _notify_enter(self, s: AsyncSession, wf: Workflow, order: Order, target: str, actor: Actor) -> list[str]:
        sent: list[str] = []
        for n in wf.definition.notifies_into(target):
            text = n.template.format(order_no=order.order_no, state=target, actor=actor.name)
            to: list[str] = []
            if n.role:
                to += [u.user_id for u in await users_with_role(s, n.role)]
            if n.owner and order.owner_id:
                to.append(order.owner_id)
            to = [u for u in to if u != actor.user_id]
            if to:
                await enqueue_text(s, to, text, self.clock.now(), order_id=order.id)
                sent += to
        return sent

    async def change_address(self, query: str, actor: Actor, text: str) -> tuple[Order, Recipient]:
        """New address, and the recipient's name and mobile when given (in any order). Refused
        (nothing saved) when the address cannot be placed."""
        got = parse_recipient(text)
        addr = got.address
        try:
            async with self.db.session() as s:
                order = await find_order(s, query)
                wf = await self.workflows.current(s)
                self._require_before_shipping(order, wf, "改地址")
                old = f"{order.province}{order.city}{order.district}{mask_detail(order.address_detail)}"
                order.province, order.city, order.district = addr.province, addr.city, addr.district
                order.address_detail = addr.detail
                keys = buyer_columns(got.phone or "", got.name or "")
                if got.name:
                    order.buyer_name, order.name_hash = got.name, keys["name_hash"]
                if got.phone:
                    order.phone_masked, order.phone_hash = keys["phone_masked"], keys["phone_hash"]
                    order.phone_sealed, order.phone_last4 = keys["phone_sealed"], keys["phone_last4"]
                order.updated_at = self.clock.now()
                new = f"{addr.province}{addr.city}{addr.district}{mask_detail(addr.detail)}"
                timeline.record(s, order_id=order.id, at=self.clock.now(), actor=actor.user_id,
                                source=actor.source, kind="address_changed",
                                detail={"actor_name": actor.name, "old": old, "new": new,
                                        "name": mask_name(got.name), "phone": mask_phone(got.phone)})
                await s.flush()
                return order, got
        except StaleDataError:
            raise await self._stale(query) from None

    async def add_tracking(self, query: str, actor: Actor, carrier: str, number: str) -> Order:
        company = find_carrier(_text(carrier, "快递公司", 32))
        carrier = company.name
        number = number.strip().upper()
        if not TRACKING_RE.match(number):
            raise InvalidInput("运单号需为6到40位字母或数字。")
        check_number(company, number)
        async with self.db.session() as s:
            order = await find_order(s, query, full=True)
            other = await s.scalar(select(Tracking).where(Tracking.carrier == carrier, Tracking.number == number))
            if other is not None:
                if other.order_id == order.id:
                    raise InvalidInput(f"运单 {carrier} {number} 已在订单 {order.order_no} 上。")
                raise InvalidInput(f"运单 {carrier} {number} 已属于另一个订单，请核对。")
            wf = await self.workflows.current(s)
            if wf.definition.cancel and order.status == wf.definition.cancel.name:
                raise InvalidInput(f"订单 {order.order_no} 已取消，不能添加运单。")
            now = self.clock.now()
            order.tracking.append(Tracking(carrier=carrier, number=number, created_at=now))
            order.updated_at = now
            timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                            kind="tracking_added", detail={"actor_name": actor.name, "carrier": carrier,
                                                           "number": number})
            await s.flush()
            return order

    async def remove_tracking(self, query: str, actor: Actor, number: str) -> tuple[Order, Tracking]:
        """Take a wrong tracking number off an order (recorded on the timeline)."""
        number = number.strip().upper()
        async with self.db.session() as s:
            order = await find_order(s, query, full=True)
            found = next((t for t in order.tracking if t.number == number), None)
            if found is None:
                have = "、".join(f"{t.carrier} {t.number}" for t in order.tracking) or "无"
                raise InvalidInput(f"订单 {order.order_no} 上没有运单「{number[:40]}」。现有运单：{have}")
            now = self.clock.now()
            order.tracking.remove(found)
            order.updated_at = now
            timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                            kind="tracking_removed", detail={"actor_name": actor.name, "carrier": found.carrier,
                                                             "number": found.number})
            await s.flush()
            return order, found

    def _require_before_shipping(self, order: Order, wf: Workflow, action: str) -> None:
        d = wf.definition
        if d.cancel and order.status == d.cancel.name:
            raise InvalidInput(f"订单 {order.order_no} 已取消，不能{action}。")
        if d.cancel and order.status in d.names and d.cancel.before in d.names:
            if d.names.index(order.status) >= d.names.index(d.cancel.before):
                raise InvalidInput(f"订单 {order.order_no} 已到「{order.status}」，不能再{action}，请走售后。")

    async def _stale(self, query: str) -> StaleOrder:
        async with self.db.session() as s:
            order = await find_order(s, query)
            return StaleOrder(order.order_no, order.status)


def _text(value: str, what: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"请填写{what}。")
    if len(value) > limit:
        raise InvalidInput(f"{what}太长（最多{limit}个字）。")
    return value


async def set_focus(s: AsyncSession, user_id: str, order_id: int, now: datetime) -> None:
    """Remember the order a user works on: one upsert statement (no read first)."""
    stmt = dialect_insert(s, UserFocus).values(user_id=user_id, order_id=order_id, updated_at=now)
    await s.execute(stmt.on_conflict_do_update(index_elements=["user_id"],
                                               set_={"order_id": order_id, "updated_at": now}))
