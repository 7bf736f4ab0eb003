"""Reconcile with settlement files as banks and platforms send them: GBK, title rows, 借/贷
columns, thousands separators, channel names in Chinese or English; no rate stored when more
than half of the lines match no order."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import cli
from orders.app import App
from orders.finance.bank_files import BankConfig, money
from orders.finance.reconcile import reconcile
from orders.intake.models import SettlementDay
from tests.fakes import payloads as P
from tests.intake.helpers import pull_in

DAY = date(2026, 1, 22)


async def test_gbk_platform_file_with_chinese_channel_names(app: App, tmp_path: Path) -> None:
    await pull_in(app, "pdd", P.pdd("PDD-B1"))
    f = tmp_path / "结算.csv"
    f.write_bytes(("流水号,渠道,订单号,金额\r\n"
                   "S1,天猫,T1001,299.50\r\n"        # fixture orders are taobao: 天猫 covers taobao and tmall
                   "S2,淘宝,T1002,\"1,299.50\"\r\n"  # thousands separator; 1000 yuan too much
                   "S3,拼多多,PDD-B1,295.20\r\n"
                   "S4,Taobao,T1003,299.50\r\n"
                   "S5,京东,T1004,299.50\r\n").encode("gbk"))  # T1004 is no JD order
    res = await reconcile(app.db, app.clock, f, DAY)
    assert res.source == "CSV, GBK, layout platform"
    assert (res.lines, res.matched, res.no_order, res.refused) == (5, 4, 1, "")
    assert [(u.line_no, u.reason) for u in res.unmatched] == [(3, "金额不符：订单BG260122-0002实付299.5元"),
                                                             (6, "没有对应订单")]
    assert res.bank_total_fen == 29950 * 3 + 129950 + 29520
    assert res.diff_fen == 100000 + 29950


async def test_bank_statement_with_debit_credit_and_title_rows_xlsx(app: App, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["中国某某银行 账户交易明细"])
    ws.append(["账号：6222********1234", None, "币种：人民币"])
    ws.append(["交易日期", "交易流水号", "摘要", "借方发生额", "贷方发生额", "余额", "附言"])
    ws.append(["2026-01-22", "B001", "货款", "", "299.50", "10,299.50", "订单BG260122-0001货款"])
    ws.append(["2026-01-22", "B002", "货款", "", "1,000.00", "11,299.50", "T1002 货款"])
    ws.append(["2026-01-22", "B003", "退款", "299.50", "", "11,000.00", "退款 T1003"])
    ws.append(["合计", None, None, "299.50", "1,299.50"])
    f = tmp_path / "bank.xlsx"
    wb.save(f)
    res = await reconcile(app.db, app.clock, f, DAY)
    assert res.source == "XLSX, layout bank"
    assert (res.lines, res.matched, res.refused) == (3, 3, "")
    assert res.bank_total_fen == 29950 + 100000 - 29950
    assert money("￥1,299.50") == 129950 and money("(12.80)") == -1280 and money("abc") is None


async def test_alipay_statement_gbk_with_hash_lines(app: App, tmp_path: Path) -> None:
    f = tmp_path / "alipay.csv"
    f.write_bytes("\r\n".join([
        "#支付宝账务明细查询", "#账号：[20880000000000000156]", "#起始日期：[2026年01月22日 00:00:00]",
        "#-----------------------------------------账务明细列表----------------------------------------",
        "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注",
        "2026012200001,20260122000011,T1001,羽绒服,2026-01-22 10:00:00,b@x.cn,299.50,,299.50,支付宝,在线支付,",
        "2026012200002,20260122000012,T1002,羽绒服,2026-01-22 10:05:00,b@x.cn,299.50,,599.00,支付宝,在线支付,",
        "#-----------------------------------------账务明细列表结束------------------------------------",
        "#收入合计：2笔，共599.00元"]).encode("gbk"))
    res = await reconcile(app.db, app.clock, f, DAY)
    assert res.source == "CSV, GBK, layout alipay" and (res.lines, res.matched, res.diff_fen) == (2, 2, 0)


def test_more_than_half_unmatched_stores_nothing_and_says_why(app: App, db_path: Path, tmp_path: Path) -> None:
    env = {"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"}
    good = tmp_path / "good.csv"
    good.write_text("订单号,金额\nT1001,299.50\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["reconcile", str(good), "--date", "2026-01-22"], env=env).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("渠道,订单号,金额\n天猫,T1001,299.50\nAmazon,T1002,299.50\n天猫,NOPE-1,1.00\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["reconcile", str(bad), "--date", "2026-01-22"], env=env)
    assert res.exit_code == 2, res.output
    assert "未保存 2026-01-22 的日结差异率" in res.output and "3 行中有 2 行找不到订单（超过一半）" in res.output
    assert "未知渠道「Amazon」" in res.output

    async def stored() -> SettlementDay | None:
        from config import load_settings
        from orders.app import build_app

        a = await build_app(load_settings(database_url=env["ORDERBOT_DATABASE_URL"]))
        try:
            async with a.db.session() as s:
                return await s.scalar(select(SettlementDay).where(SettlementDay.day == "2026-01-22"))
        finally:
            await a.close()

    day = asyncio.run(stored())
    assert day is not None and (day.lines, day.diff_rate_bp) == (1, 0)  # the earlier good run stays


def test_unusable_bank_file_exits_2(app: App, db_path: Path, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("日期,说明\n2026-01-22,无\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["reconcile", str(f), "--date", "2026-01-22"],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert res.exit_code == 2 and "no known settlement layout fits the header" in res.output
    assert "Traceback" not in res.output


def test_channel_names_are_folded() -> None:
    banks = BankConfig.load()
    assert banks.channels("ＴＭＡＬＬ") == ("tmall", "taobao") and banks.channels(" 抖店 ") == ("douyin",)
    assert banks.channels("") == () and banks.channels("Amazon") == ("?",)
