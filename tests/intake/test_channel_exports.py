"""Back-office export files (CSV and XLSX) through `orderbot import FILE --channel NAME`: bad rows,
wrong and broken files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import cli
from orders.app import App
from orders.intake.channels import FileFormatError
from orders.intake.files import UnusableFile
from orders.models import Order
from tests.intake.helpers import channels, importer, order_of

PDD = ["商品", "订单号", "订单状态", "商品总价(元)", "邮费(元)", "店铺优惠折扣(元)", "平台优惠折扣(元)",
       "用户实付金额(元)", "商品数量(件)", "收货人", "手机", "省", "市", "区", "街道", "支付时间", "订单成交时间",
       "商家编码-SKU维度"]


def pdd_row(oid: str, **over: str) -> list[str]:
    row = {"商品": "儿童羽绒服", "订单号": oid, "订单状态": "待发货", "商品总价(元)": "358.00", "邮费(元)": "0",
           "店铺优惠折扣(元)": "12.80", "平台优惠折扣(元)": "50.00", "用户实付金额(元)": "295.20", "商品数量(件)": "2",
           "收货人": "李四", "手机": "13900001111", "省": "江苏省", "市": "南京市", "区": "鼓楼区", "街道": "中山路1号",
           "支付时间": "2026-01-22 10:43:00", "订单成交时间": "2026-01-22 10:42:00", "商家编码-SKU维度": "TQ-YRF-120"}
    row.update(over)
    return [row[h] for h in PDD]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_export_csv_with_every_bad_row_kind(app: App, db_path: Path, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "pdd.csv", PDD, [
        pdd_row("E1"),
        pdd_row("E2", **{"用户实付金额(元)": ""}),        # a required field missing
        pdd_row("E3", **{"商品数量(件)": "两件"}),        # wrong type
        pdd_row("E4", 订单状态="神秘状态"),               # unknown status
        pdd_row("E1"),                                    # duplicate within the file
        pdd_row("E5", 订单状态="待支付"),                 # unpaid: skipped, counted
        pdd_row("E6", **{"用户实付金额(元)": "12.345"}),  # more than two decimals
        pdd_row("E7"),
    ])
    res = CliRunner().invoke(cli, ["import", str(f), "--channel", "pdd"],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert res.exit_code == 1, res.output
    assert "added 2" in res.output and "skipped 1" in res.output and "failed 5" in res.output
    rejects = list(csv.reader((tmp_path / "pdd.csv.rejects.csv").open(encoding="utf-8-sig")))
    assert rejects[0] == ["row", "field", "reason"]
    got = {(r[0], r[1]) for r in rejects[1:]}
    assert got == {("3", "用户实付金额(元)"), ("4", "商品数量(件)"), ("5", "订单状态"), ("6", "订单号"),
                   ("8", "用户实付金额(元)")}
    assert any("duplicate of row 2" in r[2] for r in rejects)
    # re-import: nothing new, the good rows are unchanged
    res = CliRunner().invoke(cli, ["import", str(f), "--channel", "pdd"],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert "added 0" in res.output and "unchanged 2" in res.output


async def test_pdd_xlsx_export(app: App, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PDD)
    ws.append(["加绒卫衣", "X1", "待发货", 238.5, 0, 0, 10, 228.5, 3, "王五", "137****2222", "广东省", "深圳市",
               "南山区", "科技园1号", "2026-01-22 11:00:30", "2026-01-22 11:00:00", "TQ-WY-110"])
    ws.append(["加绒卫衣", "X2", "已发货，待收货", 79.5, 6, 0, 0, 85.5, 1, "赵六", "137****3333", "广东省", "深圳市",
               "南山区", "科技园2号", None, "2026-01-22 11:05:00", "TQ-WY-110"])
    f = tmp_path / "pdd.xlsx"
    wb.save(f)
    rep = await importer(app).import_parsed(channels(app).read_export("pdd", f))
    assert (rep.added, rep.failed) == (2, 0), rep.rejects
    x1 = await order_of(app, "pdd", "X1")
    assert (x1.paid_fen, x1.amount_diff_fen, x1.phone_hash) == (22850, 0, "")
    x2 = await order_of(app, "pdd", "X2")
    assert x2.status == "物流揽收" and x2.shipping_fen == 600


async def test_wechat_sheet(app: App, tmp_path: Path) -> None:
    header = ["订单号", "客户", "电话", "下单时间", "收款时间", "状态", "省", "市", "区", "地址", "货号", "商品",
              "数量", "单价", "运费", "优惠", "实收", "备注"]
    f = write_csv(tmp_path / "wx.csv", header, [
        ["W1", "陈七", "13600004444", "2026-01-22 12:00", "", "已付款", "上海市", "上海市", "浦东新区", "世纪大道8号",
         "TQ-YRF-120", "儿童羽绒服", "1", "199", "10", "20", "189", "老客户"]])
    rep = await importer(app).import_parsed(channels(app).read_export("wechat", f))
    assert rep.added == 1
    o = await order_of(app, "wechat", "W1")
    assert (o.paid_fen, o.note, o.amount_diff_fen) == (18900, "老客户", 0)


def test_wrong_channels_format_is_refused_whole(app: App, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "pdd.csv", PDD, [pdd_row("E1")])
    with pytest.raises(FileFormatError, match="not a jd"):
        channels(app).read_export("jd", f)


def test_wrong_format_via_cli_exits_2(app: App, db_path: Path, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "pdd.csv", PDD, [pdd_row("E1")])
    res = CliRunner().invoke(cli, ["import", str(f), "--channel", "jd"],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert res.exit_code == 2 and "not a jd" in res.output


async def test_truncated_csv_keeps_good_rows_and_rejects_the_cut_one(app: App, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "pdd.csv", PDD, [pdd_row("T1"), pdd_row("T2")])
    data = f.read_bytes()
    f.write_bytes(data[: len(data) - 40])  # cut inside the last row
    rep = await importer(app).import_parsed(channels(app).read_export("pdd", f))
    assert rep.added == 1 and rep.rejects[0].row == 3 and "truncated" in rep.rejects[0].reason


async def test_truncated_xlsx_is_refused(app: App, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PDD)
    ws.append(pdd_row("T3"))
    f = tmp_path / "pdd.xlsx"
    wb.save(f)
    f.write_bytes(f.read_bytes()[:700])
    with pytest.raises(UnusableFile, match="truncated or damaged"):
        channels(app).read_export("pdd", f)
    async with app.db.session() as s:
        assert await s.scalar(select(Order).where(Order.channel_order_id == "T3")) is None


def test_canonical_jsonl_still_imports(app: App, db_path: Path, tmp_path: Path) -> None:
    import json

    from tests.factories import canon

    f = tmp_path / "o.jsonl"
    f.write_text(json.dumps(canon("J1")) + "\n" + json.dumps(canon("J2", paid=1.5)) + "\n{broken\n",
                 encoding="utf-8")
    res = CliRunner().invoke(cli, ["import", str(f)], env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert res.exit_code == 1 and "added 1" in res.output and "failed 2" in res.output
    assert "line 2: paid" in res.output and "line 3: broken JSON" in res.output


@pytest.mark.parametrize(("content", "channel", "message"), [
    ("", "taobao", "file is empty"),
    ("订单号,收货人\n1,2\n", "nosuch", "unknown channel 'nosuch'"),
])
def test_unusable_files_exit_2(app: App, db_path: Path, tmp_path: Path, content: str, channel: str,
                               message: str) -> None:
    f = tmp_path / "x.csv"
    f.write_text(content, encoding="utf-8")
    res = CliRunner().invoke(cli, ["import", str(f), "--channel", channel],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert res.exit_code == 2 and message in res.output
