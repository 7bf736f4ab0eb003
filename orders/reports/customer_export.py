"""``export-customers``: one segment of the value pool as XLSX for outreach: masked phone, the
matching hash, the masked platform nick and the metrics. No full phone or name is written (the
database keeps none to write); text cells that Excel would run as formulas are written as text
(orders.sheets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook

from orders.db import Database
from orders.labels import channel_name
from orders.money import fen_to_yuan
from orders.privacy import mask_name, mask_phone
from orders.reports.pool import buyers
from orders.sheets import append_row

HEADER = ["手机(脱敏)", "客户哈希", "平台昵称(脱敏)", "分群", "高潜留存", "订单数", "金额(元)", "最近下单(天前)",
          "间隔标准差(天)", "间隔变异系数", "使用渠道", "渠道迁移", "售后单数", "售后容忍度"]
def _r(v: float | None, nd: int = 2) -> float | None:
    return None if v is None else round(v, nd)


async def export_segment(db: Database, segment: str, path: Path) -> int:
    """Write the segment's buyers (largest amount first); returns how many."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = segment
    append_row(ws, HEADER)
    async with db.session() as s:
        found = await buyers(s, segment)
    for b in found:
        r = b.row
        moved = f"{channel_name(r.channel_from)}→{channel_name(r.channel_to)}" if r.channel_from else ""
        values: list[Any] = [
            mask_phone(b.phone_masked), r.buyer_key, mask_name(b.nick), r.segment, "是" if r.high_potential else "否",
            r.orders, float(fen_to_yuan(r.amount_fen)), _r(r.recency_days, 1), _r(r.interval_std_days),
            _r(r.interval_cv), "、".join(channel_name(c) for c in r.channels.split(",") if c), moved, r.cases,
            _r(r.tolerance)]
        append_row(ws, values)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return len(found)
