"""备注: a free-text note on an order, kept on its timeline (查 and the warehouse card show the
latest). Mobiles and ID numbers in it are masked before it is stored."""

from __future__ import annotations

from sqlalchemy.orm.exc import StaleDataError

from orders import timeline
from orders.errors import InvalidInput
from orders.lookup import find_order
from orders.models import Order
from orders.privacy import mask_id_number, scrub
from orders.service import Actor, OrderService, set_focus

MAX_NOTE = 200
KIND = "note"


async def add_note(service: OrderService, query: str, actor: Actor, text: str) -> tuple[Order, str]:
    text = mask_id_number(scrub((text or "").strip()))
    if not text:
        raise InvalidInput("用法：备注 <单号> <文字>，例如：备注 BG260122-8812 客户要求周末送货")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"备注太长（最多{MAX_NOTE}个字）。")
    try:
        async with service.db.session() as s:
            order = await find_order(s, query)
            now = service.clock.now()
            order.updated_at = now
            order.staff_note = text
            timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind=KIND,
                            detail={"actor_name": actor.name, "text": text})
            await set_focus(s, actor.user_id, order.id, now)
            await s.flush()
            return order, text
    except StaleDataError:
        raise InvalidInput("订单刚被其他人更新，请再发一次备注。") from None
