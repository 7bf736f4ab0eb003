"""The barcode table: SKU <-> one or more barcodes, with the bin (库位) and size/colour shown on
task cards. Loaded from CSV (UTF-8 or GBK, Excel re-saves included) or XLSX with
``orderbot import-barcodes FILE``, edited in chat with ``条码``."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.db import Database, dialect_insert
from orders.errors import InvalidInput
from orders.intake.files import UnusableFile, sniff
from orders.warehouse.models import Barcode
from orders.warehouse.picking import barcode_problem, normalize_code

log = logging.getLogger(__name__)
HEADERS = {
    "sku": ("sku", "商家编码", "商品编码", "货号", "外部系统编号", "SKU编码"),
    "barcode": ("barcode", "条码", "条形码", "商品条码", "国际条码"),
    "bin": ("bin", "库位", "货位", "储位"),
    "spec": ("spec", "规格", "销售属性"),
    "colour": ("colour", "color", "颜色"),
    "size": ("size", "尺码", "尺寸"),
}
SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)


class BarcodeFileError(ValueError):
    """The file as a whole is unusable (no sku/barcode columns, unreadable)."""


@dataclass
class BarcodeReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.rejects)} rejected")


def _columns(header: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, names in HEADERS.items():
        for h in header:
            if h.strip().lower() in (n.lower() for n in names):
                found[key] = h
                break
    missing = [k for k in ("sku", "barcode") if k not in found]
    if missing:
        raise BarcodeFileError(f"missing column(s) {', '.join(missing)} (also accepted: 商家编码, 条码, 库位); "
                               f"header is: {', '.join(header)[:200]}")
    return found


def cell_code(value: Any) -> tuple[str, str]:
    """A barcode cell as text, and why it is unusable ('' if fine). Spreadsheet numbers come back
    as digits; Excel's scientific notation (6.90123E+12) lost digits and is refused."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        try:
            value = str(Decimal(str(value)).quantize(Decimal(1)))
        except InvalidOperation:
            return str(value), "not a number"
    text = str(value or "").strip()
    if SCIENTIFIC.match(text):
        return text, "Excel scientific notation (digits lost): format the column as text and export again"
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    code = normalize_code(text)
    return code, barcode_problem(code)


def read_file(path: Path) -> list[tuple[int, dict[str, str], str]]:
    """(row, {sku, barcode, bin, spec}, problem) for each data row."""
    try:
        table = sniff(path)
        if table.kind == "jsonl":
            raise BarcodeFileError("JSON Lines is not a barcode table (CSV or XLSX expected)")
        cols = _columns(table.header)
        rows = list(table.rows())
    except UnusableFile as e:
        raise BarcodeFileError(str(e)) from None
    out: list[tuple[int, dict[str, str], str]] = []
    for no, row in rows:
        if "__truncated__" in row:
            out.append((no, {}, str(row["__truncated__"])))
            continue
        code, problem = cell_code(row.get(cols["barcode"]))
        sku = str(row.get(cols["sku"]) or "").strip()
        if not problem and not sku:
            problem = "empty sku"
        if not problem and len(sku) > 64:
            problem = "sku longer than 64 characters"
        spec = str(row.get(cols["spec"]) or "").strip() if "spec" in cols else ""
        spec = spec or " ".join(str(row.get(cols[k]) or "").strip() for k in ("colour", "size") if k in cols).strip()
        bin_ = str(row.get(cols["bin"]) or "").strip() if "bin" in cols else ""
        out.append((no, {"sku": sku, "barcode": code, "bin": bin_[:32], "spec": spec[:64]},
                    f"barcode {code or '(empty)'}: {problem}" if problem else ""))
    return out


async def import_rows(db: Database, rows: list[tuple[int, dict[str, str], str]], *, by: str,
                      now: datetime) -> BarcodeReport:
    """Upsert the good rows (the file wins over what is stored); a barcode given twice in the file
    for two different SKUs is rejected on its second row."""
    rep = BarcodeReport()
    seen: dict[str, tuple[int, str]] = {}
    good: list[dict[str, str]] = []
    for no, r, problem in rows:
        if problem:
            rep.rejects.append((no, problem))
            continue
        first = seen.get(r["barcode"])
        if first is not None and first[1] != r["sku"]:
            rep.rejects.append((no, f"barcode {r['barcode']} is on row {first[0]} for SKU {first[1]}"))
            continue
        seen[r["barcode"]] = (no, r["sku"])
        good.append(r)
    async with db.session() as s:
        for chunk in range(0, len(good), 500):
            part = good[chunk:chunk + 500]
            known = {b.barcode: b for b in (await s.scalars(select(Barcode).where(
                Barcode.barcode.in_([r["barcode"] for r in part])))).all()}
            for r in part:
                old = known.get(r["barcode"])
                if old is None:
                    s.add(Barcode(**r, updated_at=now, updated_by=by))
                    known[r["barcode"]] = Barcode(**r)
                    rep.added += 1
                elif (old.sku, old.bin, old.spec) != (r["sku"], r["bin"] or old.bin, r["spec"] or old.spec):
                    old.sku, old.bin, old.spec = r["sku"], r["bin"] or old.bin, r["spec"] or old.spec
                    old.updated_at, old.updated_by = now, by
                    rep.updated += 1
                else:
                    rep.unchanged += 1
            await s.flush()
    log.info("barcodes imported by %s: %s", by, rep.summary())
    return rep


async def set_barcode(s: AsyncSession, sku: str, code: str, bin_: str, spec: str, *, by: str,
                      now: datetime) -> Barcode:
    """Add or move one barcode (chat ``条码``); an invalid check digit is refused."""
    code = normalize_code(code)
    problem = barcode_problem(code)
    if problem:
        raise InvalidInput(f"条码「{code[:64]}」无效：{problem}。")
    sku = sku.strip()
    if not sku or len(sku) > 64:
        raise InvalidInput("商家编码需为1到64个字符。")
    values = {"sku": sku, "bin": bin_[:32], "spec": spec[:64], "updated_at": now, "updated_by": by}
    await s.execute(dialect_insert(s, Barcode).values(barcode=code, **values)
                    .on_conflict_do_update(index_elements=["barcode"], set_=values))
    row = await s.get(Barcode, code, populate_existing=True)
    assert row is not None
    return row


async def remove_barcode(s: AsyncSession, code: str) -> bool:
    res = await s.execute(delete(Barcode).where(Barcode.barcode == normalize_code(code)))
    return bool(getattr(res, "rowcount", 0))


async def barcodes_of(s: AsyncSession, sku: str) -> list[Barcode]:
    return list((await s.scalars(select(Barcode).where(Barcode.sku == sku.strip()).order_by(Barcode.barcode))).all())
