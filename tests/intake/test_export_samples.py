"""Platform exports as sellers download them (tests/data, written by make_samples.py from the
platforms' field lists): every shape, encodings, detection, Excel's date forms."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import cli
from orders.app import App
from orders.finance.tracing import MISMATCH_FLAG
from orders.intake.channels.base import AdapterError, local_time
from orders.models import Discount, Order, OrderLine
from tests.intake.helpers import order_of

DATA = Path(__file__).resolve().parent.parent / "data"
TZ = ZoneInfo("Asia/Shanghai")


def _run(db_path: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["import", *args], env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.output


async def _import(db_path: Path, *args: str) -> tuple[int, str]:
    """The CLI runs its own event loop: from an async test it goes to a thread."""
    return await asyncio.to_thread(_run, db_path, *args)


async def _lines(app: App, o: Order) -> list[tuple[str, int, int]]:
    async with app.db.session() as s:
        rows = await s.scalars(select(OrderLine).where(OrderLine.order_id == o.id).order_by(OrderLine.id))
        return [(ln.sku, ln.qty, ln.price_fen) for ln in rows]


async def _ledger(app: App, o: Order) -> list[tuple[str, str, int, str, str, bool]]:
    async with app.db.session() as s:
        rows = await s.scalars(select(Discount).where(Discount.order_id == o.id).order_by(Discount.id))
        return [(d.label, d.source, d.amount_fen, d.offered_by, d.borne_by, d.line_id is not None) for d in rows]


async def test_taobao_two_files_gbk(app: App, db_path: Path) -> None:
    code, out = await _import(db_path, str(DATA / "taobao_订单报表.csv"), str(DATA / "taobao_宝贝报表.csv"),
                        "--channel", "taobao")
    assert code == 0, out
    assert "CSV, GBK, taobao (淘宝) 订单报表" in out and "宝贝报表" in out
    assert "added 2" in out and "skipped 1" in out and "failed 0" in out
    o = await order_of(app, "taobao", "3021456789012345678")
    assert await _lines(app, o) == [("TQ-YRF-120", 2, 17900), ("TQ-WY-110", 1, 7950)]
    assert await _ledger(app, o) == [("天猫卡券", "天猫卡券抵扣", 1000, "platform", "platform", False),
                                     ("优惠（导出未细分）", "买家应付货款(差额)", 3750, "unknown", "unknown", False)]
    assert (o.goods_total_fen, o.paid_fen, o.amount_diff_fen, o.flags) == (43750, 39000, 0, [])
    assert (o.buyer_name, o.province, o.city, o.district, o.address_detail) == ("李四", "江苏省", "南京市", "鼓楼区",
                                                                                 "中山路1号")
    assert o.phone_masked == "139****1111" and o.phone_hash and o.shop == "童趣旗舰店" and o.note == "送小礼物"
    o2 = await order_of(app, "taobao", "3021456789012345679")
    assert o2.status == "物流揽收" and o2.shipping_fen == 600 and o2.paid_fen == 10500
    assert o2.created_at == datetime(2026, 1, 22, 2, 1, tzinfo=UTC)  # "2026/1/22 10:01" in Beijing time
    # the same files the other way round, channel detected: the orders are known, nothing changes
    code, out = await _import(db_path, str(DATA / "taobao_宝贝报表.csv"), str(DATA / "taobao_订单报表.csv"))
    assert code == 0 and "added 0" in out and "unchanged 2" in out, out


@pytest.mark.parametrize(("files", "message"), [
    (["taobao_宝贝报表.csv"], "give it together with its 订单报表 file"),
    (["taobao_订单报表.csv"], "give the 宝贝报表 file together with the 订单报表 file"),
    (["taobao_订单报表.csv", "pdd_orders.csv"], "exports of different channels"),
])
def test_taobao_needs_both_files(app: App, db_path: Path, files: list[str], message: str) -> None:
    code, out = _run(db_path, *(str(DATA / f) for f in files))
    assert code == 2 and message in out, out


async def test_taobao_order_without_item_rows_is_rejected(app: App, db_path: Path, tmp_path: Path) -> None:
    items = (DATA / "taobao_宝贝报表.csv").read_bytes().decode("gbk").splitlines()
    short = tmp_path / "宝贝报表.csv"
    short.write_bytes(("\r\n".join(items[:3]) + "\r\n").encode("gbk"))  # the second order's item is missing
    code, out = await _import(db_path, str(DATA / "taobao_订单报表.csv"), str(short))
    assert code == 1 and "added 1" in out and "no rows for this order in the 宝贝报表 file" in out, out


async def test_pdd_unit_price_from_line_total(app: App, db_path: Path) -> None:
    code, out = await _import(db_path, str(DATA / "pdd_orders.csv"))
    assert code == 0 and "CSV, UTF-8 with BOM, pdd (拼多多)" in out, out
    o = await order_of(app, "pdd", "260122-123456789012345")
    # 100.00 for 3: two at 33.33 and one at 33.34
    assert await _lines(app, o) == [("TQ-WY-110", 2, 3333), ("TQ-WY-110", 1, 3334)]
    assert await _ledger(app, o) == [("店铺券", "店铺优惠折扣(元)", 500, "shop", "shop", False),
                                     ("平台券", "平台优惠折扣(元)", 300, "platform", "platform", False)]
    assert (o.goods_total_fen, o.paid_fen, o.amount_diff_fen, o.phone_hash) == (10000, 9200, 0, "")
    o2 = await order_of(app, "pdd", "260122-123456789012346")
    assert (await _lines(app, o2), o2.status, o2.paid_fen, o2.flags) == ([("TQ-YRF-120", 2, 17900)], "物流揽收",
                                                                         36200, [])


async def test_douyin_multi_item_order_with_discounts_and_bearers(app: App, db_path: Path) -> None:
    code, out = await _import(db_path, str(DATA / "douyin_orders.xlsx"))
    assert code == 0 and "XLSX, douyin (抖音小店)" in out and "added 2" in out and "failed 0" in out, out
    o = await order_of(app, "douyin", "6930000000000000001")  # two 子订单 rows, one order
    assert await _lines(app, o) == [("TQ-YRF-120", 1, 19900), ("TQ-WY-110", 2, 7950)]
    assert await _ledger(app, o) == [
        ("平台优惠", "平台优惠/平台实际承担优惠金额", 1500, "platform", "platform", True),
        ("平台优惠（商家承担）", "平台优惠/商家实际承担优惠金额", 500, "platform", "shop", True),
        ("商家优惠", "商家优惠/商家实际承担优惠金额", 1000, "shop", "shop", True),
        ("达人优惠", "达人优惠/达人实际承担优惠金额", 500, "talent", "talent", True),
        ("商家优惠", "商家优惠/商家实际承担优惠金额", 900, "shop", "shop", True)]
    assert (o.goods_total_fen, o.discount_total_fen, o.paid_fen, o.amount_diff_fen) == (35800, 4400, 31400, 0)
    assert MISMATCH_FLAG not in o.flags
    o2 = await order_of(app, "douyin", "6930000000000000011")
    # Excel serial numbers in an XLSX cell without a date format, read in ORDERBOT_TZ
    assert o2.created_at == datetime(2026, 1, 22, 6, 30, tzinfo=UTC) and o2.shipping_fen == 800
    assert (o2.province, o2.city, o2.status) == ("北京市", "北京市", "物流揽收")


async def test_jd_item_rows_and_combined_address(app: App, db_path: Path) -> None:
    code, out = await _import(db_path, str(DATA / "jd_orders.csv"))
    assert code == 0 and "CSV, GBK, jd (京东)" in out, out
    o = await order_of(app, "jd", "300000000001")
    assert await _lines(app, o) == [("TQ-YRF-120", 1, 17900), ("TQ-WY-110", 1, 7950)]
    assert (o.province, o.city, o.district, o.address_detail) == ("北京市", "北京市", "海淀区", "中关村大街1号")
    assert (o.shipping_fen, o.paid_fen, o.amount_diff_fen) == (600, 26450, 0)
    assert (await order_of(app, "jd", "300000000002")).flags == ["暂停:锁定"]


async def test_youzan_order_and_item_files(app: App, db_path: Path) -> None:
    code, out = await _import(db_path, str(DATA / "youzan_商品维度.csv"), str(DATA / "youzan_订单维度.csv"))
    assert code == 0 and "youzan (有赞) 订单维度导出" in out, out
    o = await order_of(app, "youzan", "E20260122150000000001")
    assert await _lines(app, o) == [("TQ-YRF-120", 1, 19900), ("TQ-WY-110", 1, 7900)]
    assert await _ledger(app, o) == [("店铺优惠", "店铺优惠合计", 1990, "shop", "shop", False)]
    assert (o.paid_fen, o.amount_diff_fen, o.shop) == (25810, 0, "童趣有赞店")


def _pdd_rows() -> tuple[list[str], list[list[str]]]:
    with (DATA / "pdd_orders.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@pytest.mark.parametrize(("encoding", "said"), [
    ("utf-8", "CSV, UTF-8,"), ("utf-8-sig", "CSV, UTF-8 with BOM"), ("gbk", "CSV, GBK"), ("gb18030", "CSV, GB18030"),
    ("xlsx", "XLSX"),
])
async def test_detection_of_format_encoding_and_platform(app: App, db_path: Path, tmp_path: Path, encoding: str,
                                                         said: str) -> None:
    header, rows = _pdd_rows()
    if encoding == "gb18030":
        rows[0][header.index("收货人")] = "陈𠮷"  # a name GBK cannot hold
    if encoding == "xlsx":
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        for r in [header, *rows]:
            ws.append(r)
        f = tmp_path / "导出.xlsx"
        wb.save(f)
    else:
        f = tmp_path / "导出.csv"
        f.write_bytes("\r\n".join(",".join(r) for r in [header, *rows]).encode(encoding))
    code, out = await _import(db_path, str(f))
    assert code == 0 and said in out and "pdd (拼多多)" in out and "added 2" in out, out


async def test_excel_resave_dates_and_money(app: App, db_path: Path, tmp_path: Path) -> None:
    header, rows = _pdd_rows()
    for r in rows:  # what Excel writes back: short dates, thousands separators, a yuan sign
        r[header.index("订单成交时间")] = r[header.index("订单成交时间")].replace("2026-01-22", "2026/1/22")[:-3]
        r[header.index("支付时间")] = ""
    rows[1][header.index("商品总价(元)")] = "￥358.00"
    f = tmp_path / "resaved.csv"
    with f.open("w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    code, out = await _import(db_path, str(f))
    assert code == 0, out
    o = await order_of(app, "pdd", "260122-123456789012346")
    assert o.created_at == datetime(2026, 1, 22, 3, 5, tzinfo=UTC) and o.amount_diff_fen == 0


@pytest.mark.parametrize(("value", "want"), [
    ("2026/1/22 10:01", datetime(2026, 1, 22, 10, 1, tzinfo=TZ)),
    ("2026-01-22 10:01:00", datetime(2026, 1, 22, 10, 1, tzinfo=TZ)),
    ("2026/01/22", datetime(2026, 1, 22, tzinfo=TZ)),
    ("2026年1月22日 10:01", datetime(2026, 1, 22, 10, 1, tzinfo=TZ)),
    (46044.41736111111, datetime(2026, 1, 22, 10, 1, 0, tzinfo=TZ)),
    ("46044.5", datetime(2026, 1, 22, 12, 0, tzinfo=TZ)),
    (datetime(2026, 1, 22, 10, 1), datetime(2026, 1, 22, 10, 1, tzinfo=TZ)),
    ("2026-01-22T10:01:00+00:00", datetime(2026, 1, 22, 10, 1, tzinfo=UTC)),
    (1769047260, datetime(2026, 1, 22, 2, 1, tzinfo=UTC)),
])
def test_excel_date_forms(value: object, want: datetime) -> None:
    assert local_time(value, "t", TZ) == want


@pytest.mark.parametrize("value", ["2026/13/40 10:01", "下午三点", 12.5, "99999999999999999999"])
def test_not_times(value: object) -> None:
    with pytest.raises(AdapterError, match="not a time"):
        local_time(value, "t", TZ)


def test_unknown_shape_names_closest_platform_and_missing_headers(app: App, db_path: Path, tmp_path: Path) -> None:
    header, rows = _pdd_rows()
    header[header.index("用户实付金额(元)")] = "实付款"
    f = tmp_path / "x.csv"
    f.write_text("\n".join(",".join(r) for r in [header, *rows]), encoding="utf-8")
    code, out = _run(db_path, str(f))
    assert code == 2 and "closest is pdd (拼多多)" in out and "用户实付金额(元)" in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize(("name", "content", "message"), [
    ("o.jsonl", '{"channel": "taobao", "order_id": "G1", "buyer_name": "张三"}\n'.encode("gbk"),
     "JSON Lines must be UTF-8, but this file is GBK-encoded"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "not a readable Excel workbook"),
    ("bin.csv", bytes(range(128, 256)) * 4, "not text in UTF-8, GBK or GB18030"),
])
def test_unusable_files_exit_2_naming_why(app: App, db_path: Path, tmp_path: Path, name: str, content: bytes,
                                          message: str) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    code, out = _run(db_path, str(f))
    assert code == 2 and message in out and "Traceback" not in out, out

