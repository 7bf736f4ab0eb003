"""Task cards for warehouse temps, and the app/config keys the task wall uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.types import Button, Card
from orders.app import WAREHOUSE, App
from orders.models import Order
from orders.outbox import enqueue
from orders.warehouse.models import WarehouseTask
from orders.warehouse.tasks import WarehouseConfig

PREFIX = "wt:"  # task card button keys: wt:scan:<task id>, wt:report:<task id>, wt:pack:<task id>
STATE_TEXT = {"assigned": "待拣货：先点「扫码拣货」", "picking": "拣货中：拣完点「完成打包」", "packed": "已打包完成"}


def warehouse_config(app: App) -> WarehouseConfig:
    return app[WAREHOUSE]  # read once by build_app (the auto-assign hook uses the same)


def items_text(order: Order) -> list[tuple[str, str]]:
    lines = [("商品", f"{ln.name}×{ln.qty}") for ln in order.lines]
    if len(lines) > 4:
        lines = [*lines[:3], ("商品", f"另有{len(lines) - 3}种，共{sum(ln.qty for ln in order.lines)}件")]
    return lines


def task_card(task: WarehouseTask, order: Order, now: datetime, note: str = "") -> Card:
    """One order as a card with exactly three buttons. The WeCom task_id is new each time."""
    desc = note or STATE_TEXT.get(task.state, task.state)
    return Card(
        task_id=f"wt{task.id}-{int(now.timestamp() * 1000)}",
        title=f"订单 {order.order_no}",
        desc=desc,
        fields=(("单号", order.order_no), *items_text(order),
                ("包装", (order.note or "标准包装") + (f"｜备注：{order.staff_note}" if order.staff_note else ""))),
        buttons=(Button(f"{PREFIX}scan:{task.id}", "扫码拣货", 1),
                 Button(f"{PREFIX}report:{task.id}", "异常上报", 3),
                 Button(f"{PREFIX}pack:{task.id}", "完成打包", 1)),
    )


async def update_card(s: AsyncSession, user_id: str, response_code: str, now: datetime, *,
                      card: Card | None = None, replace_name: str = "", order_id: int | None = None) -> None:
    """Change a card the user pressed, in place (one use of WeCom's response_code)."""
    if not response_code:
        return  # the console has no cards to update
    payload: dict[str, Any] = {"response_code": response_code}
    if card is not None:
        payload["template_card"] = card.to_wecom()
    else:
        payload["replace_name"] = replace_name
    await enqueue(s, to=[user_id], msgtype="update_card", payload=payload, now=now, order_id=order_id,
                  dedupe_key=f"update_card:{response_code}")
