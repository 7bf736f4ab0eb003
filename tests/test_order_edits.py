"""备注, 运单 (carrier check, number shape, delete) and 改地址 (name + mobile + address in any
order, short forms, asks instead of saving), and 查 fitting a phone screen."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.testing import ChatBot
from orders.app import App
from orders.models import Order, TimelineEvent, Tracking


async def order(app: App, no: str) -> Order:
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.order_no == no))
        assert o is not None
        return o


async def timeline_kinds(app: App, no: str) -> list[str]:
    o = await order(app, no)
    async with app.db.session() as s:
        return list((await s.scalars(select(TimelineEvent.kind).where(TimelineEvent.order_id == o.id)
                                     .order_by(TimelineEvent.id))).all())


async def test_note_is_on_the_timeline_and_shown_by_query(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "备注 BG260122-0002 客户要求周末送货，电话13900001111")
    assert "✅ 订单 BG260122-0002 已加备注" in out and "13900001111" not in out
    sheet = await bot.say("wh01", "查 BG260122-0002")
    assert "备注：客户要求周末送货,电话139****1111（李客服" in sheet
    assert "note" in await timeline_kinds(app, "BG260122-0002")
    await bot.say("cs01", "推进 BG260122-0002")  # to 仓库分单: the temp's task card carries the note
    assert "备注：客户要求周末送货" in await bot.say("temp01", "任务")
    assert "备注" in await bot.say("cs01", "轨迹 BG260122-0002")
    assert "用法：备注 <单号> <文字>" in await bot.say("cs01", "备注 BG260122-0002")
    assert "备注太长" in await bot.say("cs01", "备注 BG260122-0002 " + "很" * 201)


@pytest.mark.parametrize(("word", "stored"), [("中通", "中通"), ("zto", "中通"), ("ZTO", "中通"), ("中通快递", "中通"),
                                              ("sf", "顺丰"), ("顺丰速运", "顺丰")])
async def test_carrier_names_codes_and_aliases(bot: ChatBot, app: App, word: str, stored: str) -> None:
    number = "SF1234567890123" if stored == "顺丰" else "73123456789012"
    assert f"已登记运单：{stored} {number}" in await bot.say("wh01", f"运单 BG260122-0001 {word} {number.lower()}")
    async with app.db.session() as s:
        t = await s.scalar(select(Tracking).where(Tracking.number == number))
    assert t is not None and t.carrier == stored and t.number_rev == number[::-1]


async def test_unknown_carrier_and_wrong_shape_are_refused(bot: ChatBot, app: App) -> None:
    out = await bot.say("wh01", "运单 BG260122-0001 中同 73123456789012")
    assert "不认识的快递公司「中同」" in out and "「中通」" in out
    out = await bot.say("wh01", "运单 BG260122-0001 中通 SF1234567890")
    assert "中通的运单号应为12到15位数字" in out
    async with app.db.session() as s:
        assert await s.scalar(select(Tracking.id)) is None


async def test_wrong_tracking_number_deleted_on_the_timeline(bot: ChatBot, app: App) -> None:
    await bot.say("wh01", "运单 BG260122-0001 中通 73123456789012")
    assert "没有运单「73000000000000」" in await bot.say("wh01", "运单 BG260122-0001 删除 73000000000000")
    assert "已删除运单：中通 73123456789012" in await bot.say("wh01", "运单 BG260122-0001 删除 73123456789012")
    assert "运单：无" in await bot.say("cs01", "查 BG260122-0001")
    assert "tracking_removed" in await timeline_kinds(app, "BG260122-0001")
    assert "删运单" in await bot.say("cs01", "轨迹 BG260122-0001")
    assert "已登记运单" in await bot.say("wh01", "运单 BG260122-0002 中通 73123456789012")  # free again


@pytest.mark.parametrize("text", ["张三 13800138000 上海市浦东新区张江路88弄3号楼502室",
                                  "上海浦东张江路88弄3号楼502室 张三 138 0013 8000",
                                  "13800138000 张三 上海浦东新区张江路88弄3号楼502室",
                                  "张三１３８００１３８０００上海市浦东新区张江路88弄3号楼502室"])
async def test_change_address_with_name_and_mobile_in_any_order(bot: ChatBot, app: App, text: str) -> None:
    out = await bot.say("cs01", f"改地址 BG260122-0005 {text}")
    assert "省：上海市　市：上海市　区：浦东新区" in out and "收件人：张*" in out and "手机尾号：8000" in out
    assert "13800138000" not in out and "张江路88弄3号楼502室" not in out
    o = await order(app, "BG260122-0005")
    assert (o.province, o.city, o.district) == ("上海市", "上海市", "浦东新区")
    assert o.address_detail == "张江路88弄3号楼502室"
    assert (o.buyer_name, o.phone_masked, o.phone_last4) == ("张三", "138****8000", "8000")
    assert "订单 BG260122-0005" in await bot.say("cs01", "查 13800138000")
    assert "订单 BG260122-0005" in await bot.say("cs01", "查 张三")


async def test_change_address_asks_when_it_cannot_place_it(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "改地址 BG260122-0005 张三 13800138000 张江路88弄3号楼502室")
    assert "无法识别地址在哪个省市，未保存" in out and "张江路88弄3号楼502室" not in out
    o = await order(app, "BG260122-0005")
    assert (o.province, o.buyer_name, o.phone_masked) == ("浙江省", "张三丰", "138****5678")


async def test_query_fits_a_phone_screen_with_flags_case_and_notes(bot: ChatBot, app: App) -> None:
    for i in range(6):
        await bot.say("cs01", f"备注 BG260122-0004 第{i}次联系客户")
    await bot.say("cs01", "运单 BG260122-0004 中通 73123456789012")
    await bot.say("cs01", "售后 BG260122-0004 退款 10 少发一件")
    o = await order(app, "BG260122-0004")
    async with app.db.session() as s:
        row = await s.get(Order, o.id)
        assert row is not None
        row.flags = ["退款中", "疑似刷单", "金额不一致", "暂停:异常挂起"]
        row.note = "买家留言：请用纸箱"
    out = await bot.say("cs01", "查 BG260122-0004")
    lines = out.splitlines()
    assert len(lines) <= 12, out
    assert lines[0].startswith("订单 BG260122-0004 · 淘宝 童趣旗舰店 · 平台单号 T1004")
    assert "标记：退款中、疑似刷单、金额不一致、暂停:异常挂起" in out
    assert "平台备注：买家留言：请用纸箱" in out and "备注：第5次联系客户" in out
    assert "售后：AS" in out and "等待「" in out
    assert "运单：中通 73123456789012" in out and "实付 299.5 元" in out and "动态：" in out
