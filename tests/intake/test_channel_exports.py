"""Back-office export files (CSV and XLSX) through `orderbot import FILE --channel NAME`."""

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
from orders.models import Discount, Order
from tests.intake.helpers import channels, importer, order_of

TAOBAO = ["订单编号", "买家昵称", "下单时间", "付款时间", "订单状态", "联系手机", "收货省份", "收货城市", "收货区县",
          "收货详细地址", "商家编码", "宝贝标题", "购买数量", "价格", "总金额", "邮费", "平台优惠", "店铺优惠",
          "买家实际支付金额", "订单备注"]


def tb_row(oid: str, **over: str) -> list[str]:
    row = {"订单编号": oid, "买家昵称": "李四", "下单时间": "2026-01-22 10:42:00", "付款时间": "2026-01-22 10:43:00",
           "订单状态": "买家已付款，等待卖家发货", "联系手机": "13900001111", "收货省份": "江苏省",
           "收货城市": "南京市",
           "收货区县": "鼓楼区", "收货详细地址": "中山路1号", "商家编码": "TQ-YRF-120", "宝贝标题": "儿童羽绒服",
           "购买数量": "2", "价格": "179.00", "总金额": "358.00", "邮费": "0", "平台优惠": "50.00", "店铺优惠": "12.80",
           "买家实际支付金额": "295.20", "订单备注": ""}
    row.update(over)
    return [row[h] for h in TAOBAO]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_taobao_csv_with_every_bad_row_kind(app: App, db_path: Path, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "tb.csv", TAOBAO, [
        tb_row("E1"),
        tb_row("E2", 买家实际支付金额=""),                 # a required field missing
        tb_row("E3", 购买数量="两件"),                     # wrong type
        tb_row("E4", 订单状态="神秘状态"),                 # unknown status
        tb_row("E1"),                                      # duplicate within the file
        tb_row("E5", 订单状态="等待买家付款"),             # unpaid: skipped, counted
        tb_row("E6", 买家实际支付金额="12.345"),           # more than two decimals
        tb_row("E7"),
    ])
    res = CliRunner().invoke(cli, ["import", str(f), "--channel", "taobao"],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert res.exit_code == 1, res.output
    assert "added 2" in res.output and "skipped 1" in res.output and "failed 5" in res.output
    rejects = list(csv.reader((tmp_path / "tb.csv.rejects.csv").open(encoding="utf-8-sig")))
    assert rejects[0] == ["row", "field", "reason"]
    got = {(r[0], r[1]) for r in rejects[1:]}
    assert got == {("3", "买家实际支付金额"), ("4", "购买数量"), ("5", "订单状态"), ("6", "订单编号"),
                   ("8", "买家实际支付金额")}
    assert any("duplicate of row 2" in r[2] for r in rejects)
    # re-import: nothing new, the good rows are unchanged
    res = CliRunner().invoke(cli, ["import", str(f), "--channel", "taobao"],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert "added 0" in res.output and "unchanged 2" in res.output


async def test_taobao_export_mapping_and_ledger(app: App, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "tb.csv", TAOBAO, [tb_row("E9")])
    rep = await importer(app).import_parsed(channels(app).read_export("taobao", f))
    assert rep.added == 1
    o = await order_of(app, "taobao", "E9")
    assert (o.buyer_name, o.city, o.paid_fen, o.amount_diff_fen) == ("李四", "南京市", 29520, 0)
    assert o.created_at.isoformat() == "2026-01-22T02:42:00+00:00"  # 下单时间 in Beijing time
    async with app.db.session() as s:
        ledger = (await s.scalars(select(Discount).where(Discount.order_id == o.id).order_by(Discount.id))).all()
    assert [(d.label, d.amount_fen, d.source, d.offered_by) for d in ledger] == [
        ("平台券", 5000, "平台优惠", "platform"), ("店铺红包", 1280, "店铺优惠", "shop")]


async def test_pdd_xlsx_export(app: App, tmp_path: Path) -> None:
    header = ["订单号", "收货人", "手机", "订单成交时间", "支付时间", "订单状态", "省", "市", "区", "街道",
              "商家编码-SKU维度", "商品", "商品数量(件)", "商品单价(元)", "商品总价(元)", "邮费(元)",
              "平台优惠折扣(元)", "店铺优惠折扣(元)", "用户实付金额(元)"]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(header)
    ws.append(["X1", "王五", "13700002222", "2026-01-22 11:00:00", "2026-01-22 11:00:30", "待发货", "广东省",
               "深圳市", "南山区", "科技园1号", "TQ-WY-110", "加绒卫衣", 3, 79.5, 238.5, 0, 10, 0, 228.5])
    ws.append(["X2", "赵六", "13700003333", "2026-01-22 11:05:00", None, "已发货，待收货", "广东省", "深圳市",
               "南山区", "科技园2号", "TQ-WY-110", "加绒卫衣", 1, 79.5, 79.5, 6, 0, 0, 85.5])
    f = tmp_path / "pdd.xlsx"
    wb.save(f)
    rep = await importer(app).import_parsed(channels(app).read_export("pdd", f))
    assert (rep.added, rep.failed) == (2, 0), rep.rejects
    assert (await order_of(app, "pdd", "X1")).paid_fen == 22850
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
    f = write_csv(tmp_path / "tb.csv", TAOBAO, [tb_row("E1")])
    with pytest.raises(FileFormatError, match="not a jd"):
        channels(app).read_export("jd", f)


def test_wrong_format_via_cli_exits_2(app: App, db_path: Path, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "tb.csv", TAOBAO, [tb_row("E1")])
    res = CliRunner().invoke(cli, ["import", str(f), "--channel", "pdd"],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert res.exit_code == 2 and "not a pdd" in res.output


async def test_truncated_csv_keeps_good_rows_and_rejects_the_cut_one(app: App, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "tb.csv", TAOBAO, [tb_row("T1"), tb_row("T2")])
    data = f.read_bytes()
    f.write_bytes(data[: len(data) - 40])  # cut inside the last row
    rep = await importer(app).import_parsed(channels(app).read_export("taobao", f))
    assert rep.added == 1 and rep.rejects[0].row == 3 and "truncated" in rep.rejects[0].reason


async def test_truncated_xlsx_is_refused(app: App, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(TAOBAO)
    ws.append(tb_row("T3"))
    f = tmp_path / "tb.xlsx"
    wb.save(f)
    f.write_bytes(f.read_bytes()[:700])
    with pytest.raises(FileFormatError, match="truncated or damaged"):
        channels(app).read_export("taobao", f)
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


@pytest.mark.parametrize(("channel", "row"), [
    ("douyin", {"主订单编号": "DE1", "收件人": "周八", "收件人手机号": "13500005555",
                "订单提交时间": "2026/01/22 13:00:00", "支付完成时间": "2026/01/22 13:00:10", "订单状态": "待发货",
                "省": "四川省", "市": "成都市", "区": "武侯区",
                "街道": "天府大道1号", "商家编码": "TQ-YRF-120", "选购商品": "儿童羽绒服", "商品数量": "1",
                "商品单价": "199.00", "运费": "0", "平台实际承担优惠金额": "20.00", "商家优惠金额": "10.00",
                "达人优惠金额": "5.00", "订单应付金额": "164.00"}),
    ("jd", {"订单号": "JE1", "客户姓名": "吴九", "联系电话": "13400006666", "下单时间": "2026-01-22 14:00:00",
            "付款确认时间": "2026-01-22 14:00:05", "订单状态": "锁定", "省": "北京", "市": "北京市", "县": "海淀区",
            "客户地址": "中关村1号", "商家SKUID": "TQ-WY-110", "商品名称": "加绒卫衣", "订购数量": "2",
            "京东价": "79.50",
            "订单金额": "159.00", "运费金额": "6.00", "京东券优惠": "10.00", "店铺优惠": "", "应付金额": "155.00"}),
    ("youzan", {"订单号": "YE1", "收货人/提货人": "郑十", "收货人手机号/提货人手机号": "13300007777",
                "订单创建时间": "2026-01-22 15:00:00", "买家付款时间": "2026-01-22 15:01:00", "订单状态": "已发货",
                "收货人省份": "湖北省", "收货人城市": "武汉市", "收货人地区": "洪山区",
                "详细收货地址/提货地址": "珞喻路1号",
                "商品编码": "TQ-YRF-120", "商品名称": "儿童羽绒服", "商品数量": "1", "商品单价": "199.00", "运费": "0",
                "店铺优惠合计": "19.90", "订单实付金额": "179.10"}),
])
async def test_other_channel_exports(app: App, tmp_path: Path, channel: str, row: dict[str, str]) -> None:
    f = write_csv(tmp_path / f"{channel}.csv", list(row), [list(row.values())])
    rep = await importer(app).import_parsed(channels(app).read_export(channel, f))
    assert (rep.added, rep.failed) == (1, 0), rep.rejects
    oid = next(iter(row.values()))
    o = await order_of(app, channel, oid)
    assert o.amount_diff_fen == 0 and o.phone_masked.startswith("1") and "****" in o.phone_masked
    want = {"douyin": ("支付成功", 16400, []), "jd": ("支付成功", 15500, ["暂停:锁定"]),
            "youzan": ("物流揽收", 17910, [])}[channel]
    assert (o.status, o.paid_fen, [f for f in o.flags if f.startswith("暂停")]) == want


@pytest.mark.parametrize(("content", "channel", "message"), [
    ("", "taobao", "file is empty"),
    ("订单编号,买家昵称\n1,2\n", "nosuch", "unknown channel 'nosuch'"),
])
def test_unusable_files_exit_2(app: App, db_path: Path, tmp_path: Path, content: str, channel: str,
                               message: str) -> None:
    f = tmp_path / "x.csv"
    f.write_text(content, encoding="utf-8")
    res = CliRunner().invoke(cli, ["import", str(f), "--channel", channel],
                             env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    assert res.exit_code == 2 and message in res.output
