"""Helpers for the intake tests: an importer and the channel adapters wired to the test app."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.intake_jobs import build_importer, channels_of
from orders.app import App
from orders.intake.importer import ImportReport
from orders.models import Order, TimelineEvent

channels = channels_of
importer = build_importer


async def pull_in(app: App, channel: str, *payloads: dict[str, Any], shop: str = "测试店") -> ImportReport:
    return await importer(app).import_parsed(channels(app).parse_payloads(channel, list(payloads), shop))


async def order_of(app: App, channel: str, oid: str) -> Order:
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.channel == channel, Order.channel_order_id == oid))
        assert o is not None
        return o


async def events_of(app: App, order_id: int) -> list[TimelineEvent]:
    async with app.db.session() as s:
        return list((await s.scalars(select(TimelineEvent).where(TimelineEvent.order_id == order_id)
                                     .order_by(TimelineEvent.id))).all())
