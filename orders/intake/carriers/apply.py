"""Applying a carrier event to the order with that tracking number: 揽收 moves it to 物流揽收
(the workflow tells the customer-service leads), 签收 to 签收确认, a problem / return / refusal
opens an exception (flag, timeline, message). Repeats are recorded once and ignored after."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orders import timeline
from orders.intake.carriers import CarrierEvent
from orders.intake.carriers.scans import store_scans
from orders.intake.models import CarrierPush
from orders.models import Order, Tracking
from orders.outbox import enqueue_text
from orders.progression import move_along
from orders.service import Actor, OrderService
from orders.users import users_with_role

log = logging.getLogger(__name__)
PICKED_UP = "物流揽收"
SIGNED = "签收确认"
EXCEPTION_FLAG = "物流异常"
TARGETS = {"picked_up": PICKED_UP, "signed": SIGNED}


async def apply_event(service: OrderService, ev: CarrierEvent, *, notify_role: str = "cs_lead") -> str:
    """Returns the outcome: moved, exception, duplicate, unknown_number, ignored."""
    db, now = service.db, service.clock.now()
    try:
        async with db.session() as s:
            await store_scans(s, ev, now)  # the track is kept even for a number no order has yet
            dup = await s.scalar(select(CarrierPush.id).where(
                CarrierPush.carrier == ev.carrier, CarrierPush.number == ev.number, CarrierPush.state == ev.code,
                CarrierPush.event_time == ev.event_time))
            if dup is not None:
                log.info("carrier push %s %s state %s repeated: ignored", ev.carrier, ev.number, ev.code)
                return "duplicate"
            rows = (await s.scalars(select(Tracking).where(Tracking.number == ev.number))).all()
            order_ids = {t.order_id for t in rows}
            push = CarrierPush(carrier=ev.carrier, number=ev.number, state=ev.code, event_time=ev.event_time,
                               order_id=None, outcome="", received_at=now)
            s.add(push)
            if len(order_ids) != 1:
                push.outcome = "unknown_number" if not order_ids else "ambiguous_number"
                log.warning("carrier push %s for %s number %s: %s", ev.carrier, ev.label, ev.number, push.outcome)
                return push.outcome
            order = await s.get(Order, order_ids.pop())
            assert order is not None
            push.order_id = order.id
            push.outcome = await _apply(service, s, order, ev, notify_role)
            return push.outcome
    except IntegrityError:
        log.info("carrier push %s %s state %s raced a repeat: ignored", ev.carrier, ev.number, ev.code)
        return "duplicate"


async def _apply(service: OrderService, s: AsyncSession, order: Order, ev: CarrierEvent, notify_role: str) -> str:
    now = service.clock.now()
    detail = {"carrier": ev.company or ev.carrier, "number": ev.number, "code": ev.code, "label": ev.label}
    if ev.kind in TARGETS:
        wf = await service.workflows.current(s)
        steps = await move_along(service, s, wf, order, TARGETS[ev.kind], Actor.system(), detail)
        if not steps:
            log.info("carrier %s for order %s (%s): nothing to move", ev.label, order.order_no, order.status)
            return "ignored"
        return "moved"
    if ev.kind == "exception":
        flag = f"{EXCEPTION_FLAG}:{ev.label}"
        if flag not in (order.flags or []):
            order.flags = [*(order.flags or []), flag]
        order.updated_at = now
        timeline.record(s, order_id=order.id, at=now, actor="system", source="system", kind="exception_opened",
                        detail={"actor_name": "系统", "flag": flag, **detail, "context": ev.context})
        to = [u.user_id for u in await users_with_role(s, notify_role)]
        if order.owner_id:
            to.append(order.owner_id)
        await enqueue_text(s, to, f"订单#{order.order_no} 物流异常：{ev.label}（运单 {ev.number}），请尽快跟进。",
                           now, order_id=order.id)
        log.warning("order %s: carrier exception %s (%s)", order.order_no, ev.label, ev.number)
        return "exception"
    return "ignored"
