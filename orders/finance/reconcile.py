"""Daily settlement reconciliation: match bank / platform settlement lines to orders and store the
day's settlement difference rate (日结差异率) for the 09:00 digest.

The file is read as banks send it (``orders/finance/bank_files.py``, layouts in
``config/banks.yaml``: CSV in UTF-8/GBK or XLSX, 金额 or 借/贷 columns, 渠道 in Chinese or
English). Result rows: ``settlement_days`` (one per day, replaced on a re-run; ``diff_rate_bp`` =
round(diff_fen × 10000 / bank_total_fen), i.e. basis points) and ``settlement_unmatched`` (each
line that matched no order or not its amount, with the reason). When more than half of the lines
match no order (a wrong file, a wrong layout, unknown channel names), nothing is stored: such a
rate would be noise in the digest; ``ReconcileResult.refused`` says why."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.clock import Clock
from orders.db import Database
from orders.finance.bank_files import UNKNOWN, BankConfig, lines, open_bank_file
from orders.intake.models import SettlementDay, SettlementUnmatched
from orders.models import Order
from orders.money import fen_to_yuan

log = logging.getLogger(__name__)


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
    no_order: int = 0  # lines that matched no order at all (incl. unreadable ones)
    refused: str = ""  # why nothing was stored (Chinese), "" when stored
    source: str = ""  # what the file was read as

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
        if self.refused:
            out.insert(0, f"未保存 {self.day} 的日结差异率：{self.refused}")
        return "\n".join(out)


async def reconcile(db: Database, clock: Clock, path: Path, day: date, *, banks: BankConfig | None = None,
                    bank: str | None = None) -> ReconcileResult:
    """Raises UnusableFile (orders.intake.files) for a file no layout can read."""
    banks = banks or BankConfig.load()
    bf = open_bank_file(path, banks, bank)
    res = ReconcileResult(day, source=bf.describe())
    readable: list[tuple[int, str, str, int, tuple[str, ...]]] = []  # (row, ref, label, amount, channels)
    for ln in lines(bf):
        res.lines += 1
        if ln.amount is None or not ln.ref:
            res.bad_rows += 1
            res.no_order += 1
            res.unmatched.append(Unmatched(ln.row, ln.label, 0, "行不完整或金额无法识别"))
            log.warning("reconcile %s row %d unreadable", path.name, ln.row)
            continue
        channels = banks.channels(ln.channel)
        if channels == (UNKNOWN,):
            res.bank_total_fen += ln.amount
            res.diff_fen += abs(ln.amount)
            res.no_order += 1
            res.unmatched.append(Unmatched(ln.row, ln.label, ln.amount, f"未知渠道「{ln.channel[:16]}」"))
            continue
        readable.append((ln.row, ln.ref, ln.label, ln.amount, channels))
    async with db.session() as s:
        by_ref = await _orders_by_ref(s, {ref for _, ref, _, _, _ in readable})
        for no, ref, label, amount, channels in readable:
            res.bank_total_fen += amount
            found = [o for o in by_ref.get(ref, []) if not channels or o.channel in channels]
            if len(found) != 1:
                res.diff_fen += abs(amount)
                res.no_order += not found
                res.unmatched.append(Unmatched(no, label, amount, "没有对应订单" if not found else "对应多个订单"))
                continue
            o = found[0]
            res.matched += 1
            res.expected_total_fen += o.paid_fen
            if amount != o.paid_fen:
                res.diff_fen += abs(amount - o.paid_fen)
                res.unmatched.append(Unmatched(no, label, amount, f"金额不符：订单{o.order_no}实付"
                                                                  f"{fen_to_yuan(o.paid_fen)}元"))
        res.unmatched.sort(key=lambda u: u.line_no)
        if not res.lines:
            res.refused = "文件里没有结算行"
        elif res.no_order * 2 > res.lines:
            res.refused = (f"{res.lines} 行中有 {res.no_order} 行找不到订单（超过一半），可能是文件、版式或渠道名不对；"
                           "请核对后重新对账")
        if res.refused:
            log.warning("reconcile %s for %s refused: %d of %d lines match no order", path.name, day, res.no_order,
                        res.lines)
            return res
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
