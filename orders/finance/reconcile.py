"""Daily settlement reconciliation: match bank / platform settlement lines to orders and store the
day's settlement difference rate (日结差异率) for the 09:00 digest.

The file is CSV with a header; columns are found by name: 订单号 (platform order id or hub number),
金额 (yuan), optional 流水号 and 渠道. Result rows: ``settlement_days`` (one per day, replaced on a
re-run; ``diff_rate_bp`` = round(diff_fen × 10000 / bank_total_fen), i.e. basis points) and
``settlement_unmatched`` (each line that matched no order or not its amount, with the reason)."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.clock import Clock
from orders.db import Database
from orders.intake.models import SettlementDay, SettlementUnmatched
from orders.models import Order
from orders.money import MoneyError, fen_to_yuan, yuan_to_fen

log = logging.getLogger(__name__)
ORDER_COLS = ("订单号", "商户订单号", "平台订单号", "order_id")
AMOUNT_COLS = ("金额", "结算金额", "入账金额", "amount")
REF_COLS = ("流水号", "交易流水号", "serial")
CHANNEL_COLS = ("渠道", "channel")


@dataclass
class Unmatched:
    line_no: int
    ref: str
    amount_fen: int
    reason: str


@dataclass
class ReconcileResult:
    day: date
    lines: int = 0
    matched: int = 0
    bank_total_fen: int = 0
    expected_total_fen: int = 0
    diff_fen: int = 0
    unmatched: list[Unmatched] = field(default_factory=list)
    bad_rows: int = 0

    @property
    def diff_rate_bp(self) -> int:
        if not self.bank_total_fen:
            return 0
        return (self.diff_fen * 10000 + abs(self.bank_total_fen) // 2) // abs(self.bank_total_fen)

    def rate_text(self) -> str:
        bp = self.diff_rate_bp
        return f"{bp // 100}.{bp % 100:02d}%"

    def text(self) -> str:
        out = [f"{self.day} 日结差异率 {self.rate_text()}（差额 {fen_to_yuan(self.diff_fen)} 元 / 结算 "
               f"{fen_to_yuan(self.bank_total_fen)} 元）；共 {self.lines} 行，匹配 {self.matched} 行，"
               f"未匹配 {len(self.unmatched)} 行"]
        out += [f"  第{u.line_no}行 {u.ref} {fen_to_yuan(u.amount_fen)}元：{u.reason}" for u in self.unmatched]
        return "\n".join(out)


def _col(header: list[str], names: tuple[str, ...]) -> int | None:
    for n in names:
        if n in header:
            return header.index(n)
    return None


async def reconcile(db: Database, clock: Clock, path: Path, day: date) -> ReconcileResult:
    res = ReconcileResult(day)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    oc, ac = _col(header, ORDER_COLS), _col(header, AMOUNT_COLS)
    rc, cc = _col(header, REF_COLS), _col(header, CHANNEL_COLS)
    if oc is None or ac is None:
        raise ValueError(f"{path}: header needs an order column ({'/'.join(ORDER_COLS)}) and an amount column "
                         f"({'/'.join(AMOUNT_COLS)})")
    lines: list[tuple[int, str, str, int, str]] = []  # (row, ref, label, amount, channel)
    for no, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        res.lines += 1
        ref = row[oc].strip() if oc < len(row) else ""
        label = (row[rc].strip() if rc is not None and rc < len(row) else "") or ref
        try:
            amount = yuan_to_fen(row[ac].strip().replace(",", "")) if ac < len(row) else None
        except MoneyError:
            amount = None
        if amount is None or not ref:
            res.bad_rows += 1
            res.unmatched.append(Unmatched(no, label, 0, "行不完整或金额无法识别"))
            log.warning("reconcile %s row %d unreadable", path.name, no)
            continue
        channel = row[cc].strip() if cc is not None and cc < len(row) else ""
        lines.append((no, ref, label, amount, channel))
    async with db.session() as s:
        by_ref = await _orders_by_ref(s, {ref for _, ref, _, _, _ in lines})
        for no, ref, label, amount, channel in lines:
            res.bank_total_fen += amount
            found = [o for o in by_ref.get(ref, []) if not channel or o.channel == channel]
            if len(found) != 1:
                res.diff_fen += abs(amount)
                res.unmatched.append(Unmatched(no, label, amount, "没有对应订单" if not found else "对应多个订单"))
                continue
            o = found[0]
            res.matched += 1
            res.expected_total_fen += o.paid_fen
            if amount != o.paid_fen:
                res.diff_fen += abs(amount - o.paid_fen)
                res.unmatched.append(Unmatched(no, label, amount, f"金额不符：订单{o.order_no}实付"
                                                                  f"{fen_to_yuan(o.paid_fen)}元"))
        key = day.isoformat()
        await s.execute(delete(SettlementUnmatched).where(SettlementUnmatched.day == key))
        await s.merge(SettlementDay(day=key, lines=res.lines, matched=res.matched, unmatched=len(res.unmatched),
                                    bank_total_fen=res.bank_total_fen, expected_total_fen=res.expected_total_fen,
                                    diff_fen=res.diff_fen, diff_rate_bp=res.diff_rate_bp, created_at=clock.now()))
        for u in res.unmatched:
            s.add(SettlementUnmatched(day=key, line_no=u.line_no, ref=u.ref[:64], amount_fen=u.amount_fen,
                                      reason=u.reason[:128]))
    log.info("reconciled %s: %d lines, diff rate %s", key, res.lines, res.rate_text())
    return res


async def _orders_by_ref(s: AsyncSession, refs: set[str]) -> dict[str, list[Order]]:
    """Orders whose platform id or hub number is one of ``refs``, by that ref (chunked lookups)."""
    out: dict[str, list[Order]] = {}
    todo = sorted(refs)
    for i in range(0, len(todo), 400):
        chunk = todo[i:i + 400]
        for o in await s.scalars(select(Order).where(or_(Order.channel_order_id.in_(chunk),
                                                         Order.order_no.in_(chunk)))):
            for ref in {o.channel_order_id, o.order_no} & refs:
                out.setdefault(ref, []).append(o)
    return out
