"""The warehouse config key the task wall's handlers use (cards: ``orders/warehouse/card.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orders.app import WAREHOUSE, App
from orders.outbox import enqueue
from orders.warehouse.config import WarehouseConfig


def warehouse_config(app: App) -> WarehouseConfig:
    return app[WAREHOUSE]  # read once by build_app (the auto-assign hook uses the same)


async def update_card(s: AsyncSession, user_id: str, response_code: str, now: datetime, *,
                      replace_name: str, order_id: int | None = None) -> None:
    """Grey the button of a card the user pressed (one use of WeCom's response_code)."""
    if not response_code:
        return  # the console has no cards to update
    await enqueue(s, to=[user_id], msgtype="update_card", payload={"response_code": response_code,
                                                                   "replace_name": replace_name},
                  now=now, order_id=order_id, dedupe_key=f"update_card:{response_code}")
