"""Linked shipment orders: an approved 换货 or 补发 creates a new order (its own BG number, the
original's lines at no charge) that enters the warehouse like any other; both timelines say so."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from orders import numbers, timeline
from orders.aftersales.models import AfterSalesCase
from orders.errors import IllegalTransition, NotPermitted
from orders.models import Order, OrderLine
from orders.service import Actor, OrderService

log = logging.getLogger(__name__)
ENTRY_STATE = "仓库分单"


async def next_order_no(s: AsyncSession, now: datetime, tz: str) -> str:
    day = numbers.day_of(now.astimezone(ZoneInfo(tz)))
    return numbers.number(day, await numbers.take(s, day))


async def create_linked(s: AsyncSession, service: OrderService, case: AfterSalesCase, original: Order,
                        actor: Actor, now: datetime, tz: str) -> Order:
    """The shipment order for ``case``, moved into 仓库分单 (so the warehouse hooks assign it)."""
    wf = await service.workflows.current(s)
    no = await next_order_no(s, now, tz)
    new = Order(order_no=no, order_no_rev=no[::-1], channel=original.channel,
                channel_order_id=f"{original.channel_order_id}-{case.case_no}"[:64], shop=original.shop,
                status=wf.definition.initial, status_since=now, flags=[f"售后{case.kind}"], created_at=now,
                paid_at=now, updated_at=now, buyer_name=original.buyer_name, phone_masked=original.phone_masked,
                phone_hash=original.phone_hash, phone_sealed=original.phone_sealed,
                buyer_id_hash=original.buyer_id_hash, buyer_id_sealed=original.buyer_id_sealed,
                province=original.province, city=original.city,
                district=original.district, address_detail=original.address_detail, goods_total_fen=0,
                shipping_fen=0, discount_total_fen=0, paid_fen=0, owner_id=original.owner_id,
                note=f"{case.kind} {case.case_no}，原订单 {original.order_no}"[:255], version=1)
    new.lines = [OrderLine(sku=ln.sku, name=ln.name, qty=ln.qty, price_fen=0) for ln in original.lines]
    s.add(new)
    await s.flush()
    case.linked_order_id = new.id
    timeline.record(s, order_id=new.id, at=now, actor=actor.user_id, source=actor.source, kind="created",
                    to_state=new.status,
                    detail={"actor_name": actor.name, "case_no": case.case_no, "linked_order": original.order_no,
                            "summary": f"{case.case_no} {case.kind}发货单，原订单 {original.order_no}"})
    timeline.record(s, order_id=original.id, at=now, actor=actor.user_id, source=actor.source,
                    kind="aftersales_shipment",
                    detail={"actor_name": actor.name, "case_no": case.case_no, "linked_order": no,
                            "summary": f"{case.case_no} 已建{case.kind}发货单 {no}"})
    if ENTRY_STATE != new.status:
        try:
            await service.move(s, new, ENTRY_STATE, dataclasses.replace(actor, check_roles=False), wf=wf,
                               detail={"summary": case.case_no})
        except (IllegalTransition, NotPermitted):
            log.warning("shipment order %s cannot enter %s from %s: left there", no, ENTRY_STATE, new.status)
    log.info("case %s: shipment order %s for %s", case.case_no, no, original.order_no)
    return new
