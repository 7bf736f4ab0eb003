"""Task cards a temp can work from: every line (paged, ``LINES_PER_PAGE`` a card) with size/colour,
quantity, units scanned and bin; the order's note; the hold banner; exactly three buttons.
Updates in place go out as ``update_card`` outbox rows naming the card's WeCom ``task_id``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.cards import Button, Card
from orders.models import Order, OrderLine
from orders.outbox import enqueue
from orders.warehouse.models import Barcode, WarehouseTask

PREFIX = "wt:"  # button keys: wt:scan:<task id>, wt:report:<task id>, wt:pack:<task id>
LINES_PER_PAGE = 4  # WeCom shows 6 horizontal fields: up to 4 lines, progress, note
STATE_TEXT = {"assigned": "待拣货：先点「扫码拣货」", "picking": "拣货中：扫完全部商品再点「完成打包」",
              "packed": "已打包完成"}
HELD = "暂停 — 请勿发货"


async def with_lines(s: AsyncSession, order: Order) -> Order:
    """``order`` with its lines loaded (callers may hold an order loaded without them)."""
    if "lines" in inspect(order).unloaded:
        await s.refresh(order, ["lines"])
    return order


async def task_of(s: AsyncSession, order_id: int) -> WarehouseTask | None:
    return await s.scalar(select(WarehouseTask).where(WarehouseTask.order_id == order_id))


async def sku_info(s: AsyncSession, skus: list[str]) -> dict[str, tuple[str, str]]:
    """SKU -> (bin, size/colour) from the barcode table (first row with a value wins)."""
    out: dict[str, tuple[str, str]] = {}
    rows = (await s.scalars(select(Barcode).where(Barcode.sku.in_(set(skus))).order_by(Barcode.barcode))).all()
    for b in rows:
        bin_, spec = out.get(b.sku, ("", ""))
        out[b.sku] = (bin_ or b.bin, spec or b.spec)
    return out


def done(task: WarehouseTask, line: OrderLine) -> int:
    return int((task.scanned or {}).get(str(line.id), 0))


def units(task: WarehouseTask, order: Order) -> tuple[int, int]:
    """(units scanned, units ordered)."""
    return sum(min(done(task, ln), ln.qty) for ln in order.lines), sum(ln.qty for ln in order.lines)


def line_text(task: WarehouseTask, line: OrderLine, info: dict[str, tuple[str, str]]) -> str:
    bin_, spec = info.get(line.sku, ("", ""))
    where = f"📍{bin_} " if bin_ else ""
    extra = f" {spec}" if spec and spec not in line.name else ""
    return f"{done(task, line)}/{line.qty} {where}{line.name}{extra}"


def render(task: WarehouseTask, order: Order, now: datetime, info: dict[str, tuple[str, str]], *,
           held: str = "", note: str = "", ids: list[str] | None = None, forward: str = "完成打包") -> list[Card]:
    """The task as one card per page of lines; ``ids`` reuses the WeCom task ids of an update."""
    lines = list(order.lines)
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    got, want = units(task, order)
    desc = f"{HELD}：{held}" if held else (note or STATE_TEXT.get(task.state, task.state))
    stamp = int(now.timestamp() * 1000)
    cards = []
    for n, page in enumerate(pages, 1):
        title = f"订单 {order.order_no}" + (f"（{n}/{len(pages)}）" if len(pages) > 1 else "")
        fields = [(f"商品{(n - 1) * LINES_PER_PAGE + i}", line_text(task, ln, info)) for i, ln in enumerate(page, 1)]
        fields += [("进度", f"已扫 {got}/{want} 件"), ("备注", order.note or "无（标准包装）")]
        task_id = ids[n - 1] if ids and n - 1 < len(ids) else f"wt{task.id}p{n}-{stamp}"
        cards.append(Card(task_id=task_id, title=title, desc=desc, fields=tuple(fields),
                          buttons=(Button(f"{PREFIX}scan:{task.id}", "扫码拣货", 1),
                                   Button(f"{PREFIX}report:{task.id}", "异常上报", 3),
                                   Button(f"{PREFIX}pack:{task.id}", forward, 1))))
    return cards


async def cards_for(s: AsyncSession, task: WarehouseTask, order: Order, now: datetime, *, note: str = "",
                    remember: bool = True, forward: str = "完成打包") -> list[Card]:
    """Fresh cards for sending (their task ids are kept on the task for in-place updates)."""
    info = await sku_info(s, [ln.sku for ln in order.lines])
    cards = render(task, order, now, info, held=task.held, note=note, forward=forward)
    if remember:
        task.card_id = " ".join(c.task_id for c in cards)[:128]
    return cards


async def refresh(s: AsyncSession, task: WarehouseTask, order: Order, now: datetime, *, note: str = "",
                  response_code: str = "", held: str | None = None, forward: str = "完成打包") -> None:
    """Update the task's cards in place: by the button press's ``response_code`` when there is
    one (console: none), else by each card's kept WeCom ``task_id``."""
    ids = task.card_id.split() if task.card_id else []
    await with_lines(s, order)
    info = await sku_info(s, [ln.sku for ln in order.lines])
    cards = render(task, order, now, info, held=task.held if held is None else held, note=note, ids=ids or None,
                   forward=forward)
    if response_code:
        await _update(s, task.assignee_id, now, order.id, cards[0], {"response_code": response_code},
                      f"update_card:{response_code}")
        cards = cards[1:]
        ids = ids[1:]
    for c, tid in zip(cards, ids, strict=False):
        await _update(s, task.assignee_id, now, order.id, c, {"task_id": tid}, None)


async def _update(s: AsyncSession, to: str, now: datetime, order_id: int, card: Card, key: dict[str, Any],
                  dedupe: str | None) -> None:
    await enqueue(s, to=[to], msgtype="update_card", payload={**key, "template_card": card.to_wecom()}, now=now,
                  order_id=order_id, dedupe_key=dedupe)
