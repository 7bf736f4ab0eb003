"""Helpers for after-sales tests: reading outbox rows and pressing card buttons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.testing import ChatBot
from bot.types import Incoming
from orders.app import App
from orders.outbox import OutboxMessage


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
