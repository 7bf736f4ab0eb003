"""The lead's floor over the chat console: 看板, 异常 / 处理, a typed report after 异常上报, multi-order
分配 by name, 上岗 / 下岗 in the database with reassignment, 错发."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.testing import ChatBot
from orders.app import App
from orders.clock import ManualClock
from orders.warehouse.models import ExceptionReport, OnDuty
from tests.warehouse.helpers import button, cards, my_card, outbox, press, scan, text, to_sorting


async def test_board_shows_each_temp(bot: ChatBot, clock: ManualClock) -> None:
    await to_sorting(bot, "BG260122-0001", "BG260122-0002", "BG260122-0003")
    clock.advance(timedelta(hours=5))  # 仓库分单 allows 4 hours
    out = await bot.say("wh01", "看板")
    assert "钱临时：待处理 2 单，今日完成 0 单，超时2单，最久等待 BG260122-0001 5小时0分" in out
    assert "周临时：待处理 1 单，今日完成 0 单，超时1单" in out
    assert "您的角色不能使用「看板」" in await bot.say("temp01", "看板")


async def test_multi_order_assignment_by_name(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, "BG260122-0002", "BG260122-0003", "BG260122-0004")  # temp01, temp02, temp01
    assert "没有找到订单" in await bot.say("wh01", "分配 0002 9999999 周临时")  # all or nothing
    out = await bot.say("wh01", "分配 0002 0004 周临时")
    assert "BG260122-0002、BG260122-0004 已分配给 周临时（temp02）" in out
    assert [c.title for c in cards(await bot.replies("temp02", "任务"))] == [
        "订单 BG260122-0002", "订单 BG260122-0003", "订单 BG260122-0004"]
    told = [r.payload["content"] for r in await outbox(app, "text") if r.target == "temp01"]
    assert any("BG260122-0002 已改派给 周临时" in t for t in told)
    assert "没有用户「吴临时」" in await bot.say("wh01", "分配 0002 吴临时")
    assert "不是仓库人员" in await bot.say("wh01", "分配 0002 李客服")
    assert "用法：分配" in await bot.say("wh01", "分配 周临时")
    assert "还没有分配给您的任务" in await bot.say("temp01", "任务")


async def test_off_duty_reassigns_and_on_duty_gets_new_orders(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, "BG260122-0001", "BG260122-0002")  # temp01, temp02
    out = await bot.say("wh01", "下岗 钱临时")
    assert "已下岗" in out and "BG260122-0001 → 周临时" in out
    await to_sorting(bot, "BG260122-0003")
    assert len(cards(await bot.replies("temp02", "任务"))) == 3
    assert "还没有分配给您的任务" in await bot.say("temp01", "任务")
    async with app.db.session() as s:
        row = await s.get(OnDuty, "temp01")
        assert row is not None and row.active is False  # in the database, not the YAML
    assert "本来就不在岗" in await bot.say("wh01", "下岗 temp01")
    await bot.say("admin", "用户 添加 temp03 吴临时 warehouse_temp 仓储部")
    assert "已上岗" in await bot.say("wh01", "上岗 吴临时")
    assert "已经在岗" in await bot.say("wh01", "上岗 temp03")
    await to_sorting(bot, "BG260122-0004")
    assert [c.title for c in cards(await bot.replies("temp03", "任务"))] == ["订单 BG260122-0004"]
    assert "BG260122-0002 → 吴临时" in await bot.say("wh01", "下岗 周临时")
    out = await bot.say("wh01", "下岗 吴临时")
    assert "没有其他在岗人员" in out and "BG260122-0004" in out
    assert "不是仓库人员" in await bot.say("wh01", "上岗 cs01")


async def test_typed_report_holds_then_lead_lists_and_resolves(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, "BG260122-0001")
    card = await my_card(bot, "temp01", "BG260122-0001")
    await bot.send(press("temp01", button(card, "异常上报")))
    out = await bot.say("temp01", "外箱破损 羽绒服袋子破了")
    assert "识别为「破损」" in out and "暂停" in out
    assert "⛔" in text(await bot.send(press("temp01", button(card, "扫码拣货"))))
    listing = await bot.say("wh01", "异常")
    assert "#1 破损 · 订单 BG260122-0001 · 钱临时" in listing and "外箱破损 羽绒服袋子破了" in listing
    assert "用法：处理" in await bot.say("wh01", "处理 1")
    assert "没有异常上报 #9" in await bot.say("wh01", "处理 9 已处理")
    out = await bot.say("wh01", "处理 #1 已换新包装袋")
    assert "已处理：已换新包装袋" in out and "已解除暂停" in out
    assert "已于之前处理" in await bot.say("wh01", "处理 1 再来")
    assert "没有待处理的异常上报" in await bot.say("wh01", "异常")
    assert any("已解除暂停" in r.payload["content"] for r in await outbox(app, "text") if r.target == "temp01")
    await bot.send(press("temp01", button(card, "扫码拣货")))
    assert "✅ 扫码一致" in text(await bot.send(scan("temp01", "TQ-YRF-120")))
    async with app.db.session() as s:
        r = (await s.scalars(select(ExceptionReport))).one()
    assert r.description == "外箱破损 羽绒服袋子破了" and r.resolved_by == "wh01"
    assert "异常处理" in await bot.say("wh01", "轨迹 BG260122-0001")


async def test_misship_mark(bot: ChatBot) -> None:
    assert "已登记订单 BG260122-0002 错发/漏发：发错颜色" in await bot.say("wh01", "错发 0002 发错颜色")
    assert "已经登记过错发" in await bot.say("wh01", "错发 BG260122-0002")
    assert "您的角色不能使用「错发」" in await bot.say("cs01", "错发 0002")
    assert "用法：错发" in await bot.say("wh01", "错发")
