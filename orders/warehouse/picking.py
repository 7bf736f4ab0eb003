"""Goods scans, unit by unit: a scanned or typed code is resolved to a SKU (barcode table, or the
SKU itself typed), checked against the order's lines and counted towards the line's quantity.
The order's own number or the slip's code opens the card but never counts as goods."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders import timeline
from orders.models import Order, OrderLine, Tracking
from orders.service import Actor
from orders.warehouse.card import done, units
from orders.warehouse.models import Barcode, WarehouseTask

SYMBOLOGY = re.compile(r"^(EAN_13|EAN_8|UPC_A|UPC_E|CODE_39|CODE_93|CODE_128|ITF|CODABAR|QR_CODE|DATA_MATRIX"
                       r"|PDF_417|AZTEC),", re.IGNORECASE)
GTIN_LENGTHS = (8, 12, 13, 14)  # EAN-8, UPC-A, EAN-13, GTIN-14
QTY = re.compile(r"^(.+?)\s*[*xX×]\s*(\d{1,3})$")


def normalize_code(code: str) -> str:
    """A scanned or typed code, comparable: full-width folded, no spaces, upper case, without
    WeCom's barcode symbology prefix (a scan arrives as e.g. ``EAN_13,6901234567892``)."""
    c = "".join(unicodedata.normalize("NFKC", code).split()).upper().lstrip("#")
    return SYMBOLOGY.sub("", c, count=1)


def gtin_ok(code: str) -> bool:
    """The GS1 check digit of an EAN-8/UPC-A/EAN-13/GTIN-14 code is right."""
    if not code.isdigit() or len(code) not in GTIN_LENGTHS:
        return False
    body, check = code[:-1], int(code[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def barcode_problem(code: str) -> str:
    """Why ``code`` cannot be a product barcode ('' when it can). All-digit codes must be valid
    GTINs; house codes (letters, digits, ``-_.``) are accepted as they are."""
    if not code:
        return "条码为空"
    if len(code) > 64:
        return "条码太长（最多64位）"
    if code.isdigit():
        if len(code) not in GTIN_LENGTHS:
            return f"{len(code)}位数字不是有效的 EAN-13/UPC/EAN-8 条码"
        if not gtin_ok(code):
            return "校验位不对（EAN/UPC 最后一位校验码错误），可能扫描或录入有误"
        return ""
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9_.\-]*", code):
        return "条码只能包含字母、数字和 - _ ."
    return ""


@dataclass(frozen=True)
class ScanResult:
    kind: str  # goods | slip | other_order | bad_code | unknown | mispick | over
    code: str
    sku: str = ""
    line: OrderLine | None = None
    counted: int = 0  # units added by this scan
    line_done: int = 0
    got: int = 0  # units scanned on the order
    want: int = 0  # units ordered
    problem: str = ""
    other_order: str = ""

    @property
    def complete(self) -> bool:
        return self.want > 0 and self.got >= self.want


def parse_qty(text: str) -> tuple[str, int]:
    """``6901234567892*2`` / ``… x2`` / ``… ×2`` -> (code, 2); otherwise (text, 1)."""
    t = unicodedata.normalize("NFKC", text).strip()
    m = QTY.match(t)
    return (m.group(1), int(m.group(2))) if m else (t, 1)


async def sku_of(s: AsyncSession, code: str) -> str | None:
    return await s.scalar(select(Barcode.sku).where(Barcode.barcode == code))


def remaining(task: WarehouseTask, order: Order) -> list[tuple[OrderLine, int]]:
    return [(ln, ln.qty - done(task, ln)) for ln in order.lines if done(task, ln) < ln.qty]


def expected_text(task: WarehouseTask, order: Order) -> str:
    left = remaining(task, order)
    return "、".join(f"{ln.sku} {ln.name} 还差{n}件" for ln, n in left) or "全部已扫完"


async def scan_goods(s: AsyncSession, task: WarehouseTask, order: Order, raw: str, qty: int, *, actor: Actor,
                     now: datetime) -> ScanResult:
    """Check one scan of ``qty`` units against the order; counts it when it is this order's goods."""
    code = normalize_code(raw)[:64]
    got, want = units(task, order)

    def res(kind: str, **kw: Any) -> ScanResult:
        return ScanResult(kind, code, got=got, want=want, **kw)

    if code in (order.order_no.upper(), order.channel_order_id.upper()):
        return res("slip")
    waybill = await s.scalar(select(Tracking.order_id).where(Tracking.number == code).limit(1))
    if waybill == order.id:
        return res("slip")  # the shipping label's waybill number
    other = await s.scalar(select(Order.order_no).where(
        or_(Order.order_no == code, Order.channel_order_id == code, Order.id == (waybill or 0)),
        Order.id != order.id).limit(1))
    if other:
        return _refused(s, task, order, res("other_order", other_order=other), actor, now)
    sku = await sku_of(s, code)
    if sku is None:
        problem = barcode_problem(code) if code.isdigit() else ""
        if problem:
            return _refused(s, task, order, res("bad_code", problem=problem), actor, now)
        sku = next((ln.sku for ln in order.lines if ln.sku.upper() == code), None)  # a typed SKU
        if sku is None:
            known = await s.scalar(select(OrderLine.sku).where(OrderLine.sku == code).limit(1))
            kind = "mispick" if known else "unknown"
            return _refused(s, task, order, res(kind, sku=known or ""), actor, now)
    lines = [ln for ln in order.lines if ln.sku == sku]
    if not lines:
        return _refused(s, task, order, res("mispick", sku=sku), actor, now)
    line = next((ln for ln in lines if done(task, ln) < ln.qty), lines[-1])
    left = line.qty - done(task, line)
    if qty < 1 or qty > left:
        return res("over", sku=sku, line=line, line_done=done(task, line))
    task.scanned = {**(task.scanned or {}), str(line.id): done(task, line) + qty}
    got, want = units(task, order)
    timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="goods_scanned",
                    detail={"actor_name": actor.name, "code": code, "sku": sku, "qty": qty,
                            "summary": f"扫码 {sku}×{qty}（{done(task, line)}/{line.qty}）"})
    return ScanResult("goods", code, sku, line, qty, done(task, line), got, want)


def undo(task: WarehouseTask, line: OrderLine, n: int) -> None:
    """Take back ``n`` units of a line (a typed quantity replacing the last scan's one unit)."""
    task.scanned = {**(task.scanned or {}), str(line.id): max(0, done(task, line) - n)}


def _refused(s: AsyncSession, task: WarehouseTask, order: Order, r: ScanResult, actor: Actor,
             now: datetime) -> ScanResult:
    task.wrong_scans += 1
    timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source, kind="scan_mismatch",
                    detail={"actor_name": actor.name, "code": r.code, "why": r.kind,
                            "summary": f"扫码不符 {r.code}，已拦截"})
    return r
