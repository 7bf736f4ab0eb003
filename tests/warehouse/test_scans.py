"""Goods scans unit by unit: the barcode table (files and chat), quantities, the slip not counted,
mis-picks naming what is expected, and the lead's 推进 … 打包完成 <原因> override."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from bot.testing import ChatBot
from orders.app import App
from orders.warehouse.barcodes import import_rows, read_file
from orders.warehouse.models import Barcode
from orders.warehouse.picking import barcode_problem, gtin_ok
from tests.warehouse.helpers import button, my_card, press, scan, text, to_sorting

NO = "BG260122-0001"  # lines: TQ-YRF-120 ×1, TQ-WY-110 ×2
YRF, WY, KZ = "6901234567892", "036000291452", "4006381333931"  # EAN-13, UPC-A, EAN-13


def test_check_digits() -> None:
    assert gtin_ok(YRF) and gtin_ok(WY) and gtin_ok(KZ) and gtin_ok("96385074")  # EAN-8
    assert not gtin_ok("6901234567893") and not gtin_ok("036000291453")
    assert "校验位不对" in barcode_problem("6901234567893")
    assert "7位数字不是有效的" in barcode_problem("6901234")
    assert barcode_problem("TQ-YRF-120") == ""  # a house code


async def load(app: App, rows: str, tmp_path: Path, encoding: str = "gbk") -> tuple[int, list[tuple[int, str]]]:
    f = tmp_path / "barcodes.csv"
    f.write_bytes(rows.encode(encoding))
    rep = await import_rows(app.db, read_file(f), by="test", now=app.clock.now())
    return rep.added, rep.rejects


async def test_csv_in_gbk_with_chinese_headers_and_bad_rows(app: App, tmp_path: Path) -> None:
    added, rejects = await load(app, "商家编码,条码,库位,颜色,尺码\n"
                                f"TQ-YRF-120,{YRF},A-03-2,红色,120cm\n"
                                f"TQ-WY-110,{WY},B-01-1,灰色,110cm\n"
                                "TQ-KZ-130,6901234567893,C-01,,\n"
                                "TQ-KZ-130,6.90123E+12,C-01,,\n"
                                f"TQ-KZ-130,{YRF},C-01,,\n"
                                f",{KZ},C-01,,\n", tmp_path)
    assert added == 2
    reasons = dict(rejects)
    assert "校验位不对" in reasons[4]
    assert "scientific notation" in reasons[5]
    assert "row 2 for SKU TQ-YRF-120" in reasons[6]
    assert "empty sku" in reasons[7]
    async with app.db.session() as s:
        b = await s.get(Barcode, YRF)
    assert b is not None and (b.sku, b.bin, b.spec) == ("TQ-YRF-120", "A-03-2", "红色 120cm")


async def test_xlsx_with_numeric_barcode_cells(app: App, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["sku", "barcode", "bin"])
    ws.append(["TQ-YRF-120", int(YRF), "A-03-2"])
    ws.append(["TQ-WY-110", float(WY), "B-01-1"])  # a UPC-A stored as a number: the leading 0 is gone
    f = tmp_path / "codes.xlsx"
    wb.save(f)
    rep = await import_rows(app.db, read_file(f), by="test", now=app.clock.now())
    assert rep.added == 1 and len(rep.rejects) == 1 and "11位数字" in rep.rejects[0][1]


def test_cli_import_barcodes(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "b.csv"
    f.write_text(f"sku,barcode,bin\nTQ-YRF-120,{YRF},A-03-2\nTQ-WY-110,036000291453,B\n", encoding="utf-8-sig")
    env = {"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run([sys.executable, "-m", "bot.cli", "import-barcodes", str(f)], capture_output=True, text=True,
                         env=env, timeout=120, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "row 3: barcode 036000291453: 校验位不对" in run.stderr and "1 added" in run.stderr
    bad = tmp_path / "x.csv"
    bad.write_text("名称,价格\n羽绒服,199\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "bot.cli", "import-barcodes", str(bad)], capture_output=True,
                         text=True, env=env, timeout=120, cwd=tmp_path)
    assert run.returncode == 2 and "missing column(s) sku, barcode" in run.stderr


async def test_unit_scans_with_quantities_mispick_and_override(bot: ChatBot, app: App) -> None:
    assert "✅ 条码 6901234567892 → TQ-YRF-120，库位 A-03-2" in await bot.say("wh01", f"条码 TQ-YRF-120 {YRF} A-03-2")
    await bot.say("wh01", f"条码 TQ-WY-110 {WY} B-01-1 灰色")
    await bot.say("wh01", f"条码 TQ-KZ-130 {KZ} C-01")
    assert "校验位不对" in await bot.say("wh01", "条码 TQ-KZ-130 4006381333932")
    assert "您的角色不能使用「条码」" in await bot.say("temp01", f"条码 TQ-KZ-130 {KZ}")
    await to_sorting(bot, NO)
    card = await my_card(bot, "temp01", NO)
    assert [v for k, v in card.fields if k.startswith("商品")] == ["0/1 📍A-03-2 儿童羽绒服 120cm",
                                                                  "0/2 📍B-01-1 加绒卫衣 110cm 灰色"]
    await bot.send(press("temp01", button(card, "扫码拣货")))
    out = text(await bot.send(scan("temp01", f"EAN_13,{KZ}")))
    assert "拣错了" in out and "TQ-KZ-130" in out and "本单还需：TQ-YRF-120 儿童羽绒服 120cm 还差1件" in out
    assert "状态：仓库分单" in await bot.say("wh01", f"查 {NO}")
    assert "1/2" in text(await bot.send(scan("temp01", f"UPC_A,{WY}")))
    assert "这次最多记 2 件" in await bot.say("temp01", "3")
    out = await bot.say("temp01", "２")  # one scan, then the quantity (full-width from the IME)
    assert "TQ-WY-110 加绒卫衣 110cm 2/2，本单已扫 2/3 件" in out
    assert "只要 2 件，已扫 2 件" in text(await bot.send(scan("temp01", f"EAN_13,{WY}")))
    assert "还有 1 件没有扫码" in await bot.say("wh01", f"推进 {NO} 打包完成")  # no reason: no override
    assert "您的角色不能未扫完商品就放行打包" in await bot.say("cs01", f"推进 {NO} 打包完成 急")
    assert "用法：推进" in await bot.say("wh01", f"推进 {NO} 物流揽收 急")
    out = await bot.say("wh01", f"推进 {NO} 打包完成 羽绒服标签破损无法扫码")
    assert "拣货中 → 打包完成" in out and "仓管放行" in out
    assert "仓管放行打包：羽绒服标签破损无法扫码" in await bot.say("wh01", f"轨迹 {NO}")
    assert "已经打包完成了" in text(await bot.send(press("temp01", button(card, "完成打包"))))
    async with app.db.session() as s:
        assert len((await s.scalars(select(Barcode))).all()) == 3
