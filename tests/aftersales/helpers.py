"""Helpers for after-sales tests: reading outbox rows and pressing card buttons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.testing import ChatBot
from bot.types import Incoming
from orders.app import App
from orders.models import Order
from orders.outbox import OutboxMessage
from orders.users import upsert_user
from orders.warehouse.evidence import attach


async def outbox(app: App, msgtype: str | None = None, since: int = 0) -> list[OutboxMessage]:
    async with app.db.session() as s:
        q = select(OutboxMessage).where(OutboxMessage.id > since).order_by(OutboxMessage.id)
        if msgtype:
            q = q.where(OutboxMessage.msgtype == msgtype)
        return list((await s.scalars(q)).all())


async def last_id(app: App) -> int:
    rows = await outbox(app)
    return rows[-1].id if rows else 0


def card_of(row: OutboxMessage) -> dict[str, Any]:
    return dict(row.payload["template_card"])


async def press(bot: ChatBot, user: str, card: dict[str, Any], text: str, code: str = "RC1") -> str:
    key = next(b["key"] for b in card["button_list"] if b["text"] == text)
    replies = await bot.send(Incoming(user_id=user, kind="card_action", event="template_card_event",
                                      event_key=key, task_id=card["task_id"], response_code=code))
    return "\n".join(r.as_text() for r in replies)


async def ship(bot: ChatBot, order_no: str, steps: int = 5) -> None:
    """Move an order on by ``steps`` (5: 支付成功 → … → 签收确认; 4: → 物流揽收)."""
    for _ in range(steps):
        assert "✅" in await bot.say("admin", f"推进 {order_no}")


async def order_id(app: App, order_no: str) -> int:
    async with app.db.session() as s:
        oid = await s.scalar(select(Order.id).where(Order.order_no == order_no))
        assert oid is not None
        return int(oid)


async def photo(app: App, order_no: str, user: str = "wh01", data: bytes = b"\xff\xd8 a photo") -> None:
    """An evidence photo on the order, as the image handler keeps it."""
    await attach(app.db, app.clock, app.settings.data_dir, await order_id(app, order_no), data, actor=user,
                 actor_name=user, source="chat", media_id="M-" + user)


async def add_user(app: App, user_id: str, name: str, roles: list[str], dept: str) -> None:
    async with app.db.session() as s:
        await upsert_user(s, app.roles, user_id=user_id, name=name, roles=roles, department=dept,
                          now=app.clock.now())
