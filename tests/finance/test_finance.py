"""Amount tracing for finance: summary lines to the fen, the XLSX export, settlement reconciliation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import cli
from orders.app import App
from orders.finance.export import export_xlsx
from orders.finance.reconcile import reconcile
from orders.finance.tracing import LedgerRow, summaries, summary_line
from orders.intake.models import SettlementDay, SettlementUnmatched
from orders.models import Order
from tests.fakes import payloads as P
from tests.intake.helpers import order_of, pull_in


def test_summary_line_standard_form() -> None:
    ledger = [LedgerRow("平台券", "coupon", 5000), LedgerRow("店铺红包", "red_packet", 1280),
              LedgerRow("运费补贴", "freight", -430)]
    assert summary_line("BG260122-8812", 29950, 35800, 0, ledger) == \
        "订单#BG260122-8812：平台实付299.5元=商品价358元-平台券50元-店铺红包12.8元+运费补贴4.3元"
    assert summary_line("BG1", 1001, 1000, 1, [LedgerRow("", "coupon", 0)]) == \
        "订单#BG1：平台实付10.01元=商品价10元+运费0.01元"


async def test_summary_from_stored_ledger_of_the_fixture_order(app: App) -> None:
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.order_no == "BG260122-0001"))
        assert o is not None
        text = (await summaries(s, [o]))[o.id]
    assert text == "订单#BG260122-0001：平台实付299.5元=商品价358元-平台券50元-店铺红包12.8元+运费补贴4.3元"


async def test_line_level_coupon_and_mismatch_in_the_summary(app: App) -> None:
    await pull_in(app, "jd", P.jd("JDS1"))
    await pull_in(app, "taobao", P.taobao("TBS1", payment=29519))
    async with app.db.session() as s:
        jd = await order_of(app, "jd", "JDS1")
        tb = await order_of(app, "taobao", "TBS1")
        text = await summaries(s, [jd, tb])
    assert text[jd.id].endswith("平台实付295.2元=商品价358元-京东券50元-店铺优惠12.8元")
    assert text[tb.id].endswith("（金额不一致，差额-0.01元）")


async def test_export_xlsx_has_the_tracing_sheet(app: App, tmp_path: Path) -> None:
    await pull_in(app, "jd", P.jd("JDX1"))
    out = tmp_path / "fin.xlsx"
    n = await export_xlsx(app.db, app.settings.tz, date(2026, 1, 22), date(2026, 1, 22), out)
    assert n == 6  # the five fixture orders and the JD one; the 01-23 order is outside
    wb = load_workbook(out)
    assert wb.sheetnames == ["订单", "溯源明细"]
    rows = list(wb["溯源明细"].iter_rows(values_only=True))
    jd_rows = [r for r in rows if r[2] == "JDX1"]
    assert [(r[3], r[5], r[6], r[8], r[9], r[11]) for r in jd_rows] == [
        ("TQ-YRF-120", "京东券", "couponDetailList[41]", "平台", "平台", 5000),
        ("整单", "店铺优惠", "couponDetailList[100]", "店铺", "店铺", 1280)]
    orders = list(wb["订单"].iter_rows(values_only=True))
    assert any(str(r[14]).startswith("订单#BG260122-0001：平台实付299.5元") for r in orders[1:])


def _bank(tmp_path: Path, lines: list[str]) -> Path:
    f = tmp_path / "bank.csv"
    f.write_text("流水号,订单号,金额\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return f


async def test_reconcile_rate_and_unmatched_lines_are_stored(app: App, tmp_path: Path) -> None:
    f = _bank(tmp_path, ["S1,T1001,299.50", "S2,BG260122-0002,299.50", "S3,T1003,290.00", "S4,NOPE-1,10.00",
                         "S5,T1004,abc"])
    res = await reconcile(app.db, app.clock, f, date(2026, 1, 22))
    assert (res.lines, res.matched, res.bad_rows) == (5, 3, 1)
    assert res.bank_total_fen == 89900 and res.diff_fen == 950 + 1000
    assert res.diff_rate_bp == 217  # 19.50 / 899.00 = 2.169 %
    assert "日结差异率 2.17%" in res.text()
    async with app.db.session() as s:
        day = await s.get(SettlementDay, "2026-01-22")
        assert day is not None and day.diff_rate_bp == 217 and day.unmatched == 3
        reasons = (await s.scalars(select(SettlementUnmatched.reason).order_by(SettlementUnmatched.line_no))).all()
    assert reasons[0].startswith("金额不符") and reasons[1] == "没有对应订单"
    # a re-run replaces the day
    res = await reconcile(app.db, app.clock, _bank(tmp_path, ["S1,T1001,299.50"]), date(2026, 1, 22))
    async with app.db.session() as s:
        day = await s.get(SettlementDay, "2026-01-22")
        assert day is not None and day.diff_rate_bp == 0 and day.unmatched == 0


def test_reconcile_and_export_cli(app: App, db_path: Path, tmp_path: Path) -> None:
    env = {"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"}
    res = CliRunner().invoke(cli, ["reconcile", str(_bank(tmp_path, ["S1,T1001,299.50", "S2,X,1"])),
                                   "--date", "2026-01-22"], env=env)
    assert res.exit_code == 0 and "日结差异率" in res.output and "没有对应订单" in res.output
    out = tmp_path / "f.xlsx"
    res = CliRunner().invoke(cli, ["export", "--from", "2026-01-22", "--to", "2026-01-23", "--out", str(out)],
                             env=env)
    assert res.exit_code == 0 and out.exists() and "6 orders" in res.output
