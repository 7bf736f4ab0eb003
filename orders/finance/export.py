"""The finance workbook: ``订单`` (one row per order with its summary line) and ``溯源明细`` (one row
per discount ledger row: which line, which platform field, promotion, who offered and who bears
it, the amount). Money columns are exact: yuan as decimals plus the integer fen. Text cells that
would start a formula (a shop named ``=HYPERLINK(…)``) are written as text (orders.sheets)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.db import Database
from orders.finance.tracing import LedgerRow, summary_line
from orders.models import Discount, Order, OrderLine
from orders.sheets import append_row

ORDER_HEADER = ["订单号", "渠道", "平台单号", "店铺", "状态", "平台状态", "下单时间", "商品价(元)", "优惠合计(元)",
                "运费(元)", "实付(元)", "差额(元)", "实付(分)", "标记", "溯源"]
LEDGER_HEADER = ["订单号", "渠道", "平台单号", "订单行SKU", "类型", "名称", "来源字段", "活动ID", "发起方", "承担方",
                 "金额(元)", "金额(分)"]
WHO = {"platform": "平台", "shop": "店铺", "talent": "达人", "unknown": "未知"}


def _y(fen: int) -> Decimal:
    return Decimal(fen) / 100


async def export_xlsx(db: Database, tz: str, start: date, end: date, path: Path) -> int:
    """Orders created from ``start`` to ``end`` (local dates, inclusive). Returns how many."""
    z = ZoneInfo(tz)
    lo = datetime.combine(start, time(), z)
    hi = datetime.combine(end + timedelta(days=1), time(), z)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "订单"
    append_row(ws, ORDER_HEADER)
    led = wb.create_sheet("溯源明细")
    append_row(led, LEDGER_HEADER)
    n = 0
    async with db.session() as s:
        last_id = 0
        while True:
            orders = list((await s.scalars(select(Order).where(Order.created_at >= lo, Order.created_at < hi,
                                                               Order.id > last_id)
                                           .order_by(Order.id).limit(2000))).all())
            if not orders:
                break
            last_id = orders[-1].id
            lines = await _ledger(s, orders)
            for o in orders:
                summary = summary_line(o.order_no, o.paid_fen, o.goods_total_fen, o.shipping_fen,
                                       [LedgerRow(d.label, d.kind, d.amount_fen) for d, _ in lines.get(o.id, [])],
                                       o.amount_diff_fen)
                append_row(ws, [o.order_no, o.channel, o.channel_order_id, o.shop, o.status, o.platform_status,
                                o.created_at.astimezone(z).strftime("%Y-%m-%d %H:%M:%S"), _y(o.goods_total_fen),
                                _y(o.discount_total_fen), _y(o.shipping_fen), _y(o.paid_fen), _y(o.amount_diff_fen),
                                o.paid_fen, "、".join(o.flags or []), summary])
                for d, sku in lines.get(o.id, []):
                    append_row(led, [o.order_no, o.channel, o.channel_order_id, sku or "整单", d.kind, d.label,
                                     d.source, d.promotion_id, WHO.get(d.offered_by, d.offered_by),
                                     WHO.get(d.borne_by, d.borne_by), _y(d.amount_fen), d.amount_fen])
            n += len(orders)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return n


async def _ledger(s: AsyncSession, orders: list[Order]) -> dict[int, list[tuple[Discount, str | None]]]:
    ids = [o.id for o in orders]
    out: dict[int, list[tuple[Discount, str | None]]] = {}
    for i in range(0, len(ids), 500):
        rows = await s.execute(select(Discount, OrderLine.sku).outerjoin(OrderLine, OrderLine.id == Discount.line_id)
                               .where(Discount.order_id.in_(ids[i:i + 500])).order_by(Discount.id))
        for d, sku in rows:
            out.setdefault(d.order_id, []).append((d, sku))
    return out
