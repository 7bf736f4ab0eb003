"""The warehouse task wall: assignment, cards with three buttons, scan checks, packing, and
what a temp may not do."""

from __future__ import annotations

from datetime import timedelta

from bot.testing import ChatBot
from orders.clock import ManualClock
from tests.warehouse.helpers import button, cards, my_card, outbox, press, scan, text, to_sorting


async def test_orders_entering_sorting_go_round_robin_to_temps_on_duty(bot: ChatBot) -> None:
    await to_sorting(bot, "BG260122-0001", "BG260122-0002", "BG260122-0003")
    t1 = [c.title for c in cards(await bot.replies("temp01", "任务"))]
    t2 = [c.title for c in cards(await bot.replies("temp02", "任务"))]
    assert t1 == ["订单 BG260122-0001", "订单 BG260122-0003"]
    assert t2 == ["订单 BG260122-0002"]
    assert "分配给 钱临时" in await bot.say("wh01", "轨迹 BG260122-0001")


async def test_task_card_shows_order_items_packaging_and_exactly_three_buttons(bot: ChatBot) -> None:
    await to_sorting(bot, "BG260122-0001")
    replies = await bot.replies("temp01", "任务")
    assert "共1单" in text(replies)
    card = cards(replies)[0]
    assert [b.text for b in card.buttons] == ["扫码拣货", "异常上报", "完成打包"]
    assert card.title == "订单 BG260122-0001"
    assert [v for k, v in card.fields if k.startswith("商品")] == ["0/1 儿童羽绒服 120cm", "0/2 加绒卫衣 110cm"]
    assert ("进度", "已扫 0/3 件") in card.fields and ("备注", "无（标准包装）") in card.fields
    wecom = card.to_wecom()
    assert len(wecom["button_list"]) == 3 and all(b["key"].startswith("wt:") for b in wecom["button_list"])


async def test_no_tasks_and_manual_assignment_by_lead(bot: ChatBot, app) -> None:  # type: ignore[no-untyped-def]
    assert "还没有分配给您的任务" in await bot.say("temp02", "任务")
    await to_sorting(bot, "BG260122-0004")  # auto: temp01
    assert "已分配给 周临时" in await bot.say("wh01", "分配 BG260122-0004 temp02")
    assert [c.title for c in cards(await bot.replies("temp02", "任务"))] == ["订单 BG260122-0004"]
    assert "还没有分配给您的任务" in await bot.say("temp01", "任务")
    note = [r for r in await outbox(app, "text") if r.target == "temp02"]
    assert note and "BG260122-0004" in note[-1].payload["content"]


async def test_assignment_refusals(bot: ChatBot) -> None:
    assert "用法：分配" in await bot.say("wh01", "分配 BG260122-0001")
    assert "只能分配仓库分单、拣货中的订单" in await bot.say("wh01", "分配 BG260122-0001 temp01")
    await to_sorting(bot, "BG260122-0001")
    assert "不是仓库人员" in await bot.say("wh01", "分配 BG260122-0001 cs01")
    assert "没有用户「ghost」" in await bot.say("wh01", "分配 BG260122-0001 ghost")
    assert "您的角色不能使用「分配」" in await bot.say("temp01", "分配 BG260122-0001 temp01")
    assert "您的角色不能使用「分配」" in await bot.say("cs01", "分配 BG260122-0001 temp01")


async def test_scan_mismatch_is_refused_and_match_moves_to_picking(bot: ChatBot, app) -> None:  # type: ignore[no-untyped-def]
    await to_sorting(bot, "BG260122-0001")
    card = await my_card(bot, "temp01", "BG260122-0001")
    out = text(await bot.send(press("temp01", button(card, "扫码拣货"), "rc-scan")))
    assert "请逐件扫描订单 BG260122-0001" in out
    wrong = text(await bot.send(scan("temp01", "TQ-KZ-130")))
    assert "⚠️ 扫码不符" in wrong and "请勿装箱发货" in wrong
    assert "状态：仓库分单" in await bot.say("wh01", "查 BG260122-0001")
    assert "扫码不符 TQ-KZ-130" in await bot.say("wh01", "轨迹 BG260122-0001")
    ok = text(await bot.send(scan("temp01", "EAN_13,TQ-WY-110")))  # WeCom prefixes the symbology
    assert "✅ 扫码一致" in ok
    assert "状态：拣货中" in await bot.say("wh01", "查 BG260122-0001")  # the PC side sees it at once
    upd = await outbox(app, "update_card")
    assert [r.payload["response_code"] for r in upd] == ["rc-scan"]
    assert upd[0].target == "temp01"
    assert upd[0].payload["template_card"]["main_title"]["desc"].startswith("拣货中")
    timeline = await bot.say("wh01", "轨迹 BG260122-0001")
    assert "仓库分单→拣货中" in timeline and "[按钮]" in timeline


async def test_typed_code_and_order_number_count_as_scans(bot: ChatBot) -> None:
    await to_sorting(bot, "BG260122-0002")
    card = await my_card(bot, "temp01", "BG260122-0002")
    await bot.send(press("temp01", button(card, "扫码拣货")))
    assert "是订单 BG260122-0003 的单号" in await bot.say("temp01", "BG260122-0003")
    slip = await bot.say("temp01", "t1002")  # the platform order id, any case: opens the card, counts nothing
    assert "不算商品" in slip and "已扫 0/3 件" in slip and "┌ 订单 BG260122-0002" in slip
    assert "✅ 扫码一致" in await bot.say("temp01", "ｔｑ－ｗｙ－１１０")  # full-width IME input
    assert "已登记运单" in await bot.say("wh01", "运单 BG260122-0002 顺丰 SF1234567890")
    assert "不算商品" in await bot.say("temp01", "SF1234567890")  # the waybill on the slip
    await bot.say("wh01", "运单 BG260122-0003 顺丰 SF1234567891")
    assert "是订单 BG260122-0003 的单号" in await bot.say("temp01", "sf1234567891")


async def test_pack_after_pick_and_refusals(bot: ChatBot, app) -> None:  # type: ignore[no-untyped-def]
    await to_sorting(bot, "BG260122-0001")
    card = await my_card(bot, "temp01", "BG260122-0001")
    assert "还有 3 件没有扫码" in text(await bot.send(press("temp01", button(card, "完成打包"))))
    await bot.send(press("temp01", button(card, "扫码拣货")))
    await bot.send(scan("temp01", "BG260122-0001"))
    await bot.send(scan("temp01", "TQ-YRF-120"))
    assert "还有 2 件没有扫码" in text(await bot.send(press("temp01", button(card, "完成打包"))))
    assert "本单：TQ-WY-110 加绒卫衣 110cm 还差2件" in text(await bot.send(press("temp01", button(card, "扫码拣货"))))
    await bot.send(scan("temp01", "TQ-WY-110*2"))
    assert "✅ 订单 BG260122-0001 打包完成" in text(await bot.send(press("temp01", button(card, "完成打包"), "rc-pk")))
    assert "状态：打包完成" in await bot.say("wh01", "查 BG260122-0001")
    assert "已经打包完成了" in text(await bot.send(press("temp01", button(card, "完成打包"), "rc-2")))
    upd = [r for r in await outbox(app, "update_card") if r.payload["response_code"] == "rc-pk"]
    assert upd[0].payload["template_card"]["main_title"]["desc"] == "已打包完成"
    assert "已完成1单" in await bot.say("temp01", "任务")


async def test_temp_cannot_press_another_temps_card(bot: ChatBot) -> None:
    await to_sorting(bot, "BG260122-0001")
    card = await my_card(bot, "temp01", "BG260122-0001")
    for label in ("扫码拣货", "异常上报", "完成打包"):
        out = text(await bot.send(press("temp02", button(card, label))))
        assert "这张任务卡没有分配给您" in out
    assert "状态：仓库分单" in await bot.say("wh01", "查 BG260122-0001")
    assert "按钮已失效" in text(await bot.send(press("temp01", "wt:explode:1")))


async def test_temp_can_do_nothing_else(bot: ChatBot) -> None:
    await to_sorting(bot, "BG260122-0001")
    for cmd in ("取消 BG260122-0001 不要了", "改地址 BG260122-0001 上海市浦东新区世纪大道1号",
                "查 BG260122-0002", "轨迹 BG260122-0001", "推进 BG260122-0001", "运单 BG260122-0001 顺丰 SF123456",
                "分配 BG260122-0001 temp02", "流程", "用户"):
        out = await bot.say("temp01", cmd)
        assert "您的角色不能使用" in out, (cmd, out)
    helptext = await bot.say("temp01", "帮助")
    assert "任务" in helptext and "取消" not in helptext and "查订单" not in helptext
    assert "状态：仓库分单" in await bot.say("wh01", "查 BG260122-0001")


async def test_pending_scan_expires_and_commands_still_work(bot: ChatBot, clock: ManualClock) -> None:
    await to_sorting(bot, "BG260122-0001")
    card = await my_card(bot, "temp01", "BG260122-0001")
    await bot.send(press("temp01", button(card, "扫码拣货")))
    assert "共1单" in await bot.say("temp01", "任务")  # a command word is not taken as a code
    clock.advance(timedelta(minutes=11))
    assert "请先在任务卡上点「扫码拣货」" in text(await bot.send(scan("temp01", "TQ-WY-110")))
    assert "状态：仓库分单" in await bot.say("wh01", "查 BG260122-0001")


async def test_app_menu_item_opens_the_task_wall(bot: ChatBot) -> None:
    from bot.types import Incoming

    await to_sorting(bot, "BG260122-0001")
    menu = Incoming(user_id="temp01", kind="event", event="click", event_key="tasks")
    assert [c.title for c in cards(await bot.send(menu))] == ["订单 BG260122-0001"]
    assert "不能使用「任务」" in text(await bot.send(Incoming(user_id="cs01", kind="event", event="click",
                                                             event_key="tasks")))


async def test_unpacked_tasks_carry_over_to_the_next_day(bot: ChatBot, clock: ManualClock) -> None:
    await to_sorting(bot, "BG260122-0001", "BG260122-0002", "BG260122-0003")
    card = await my_card(bot, "temp01", "BG260122-0001")
    await bot.send(press("temp01", button(card, "扫码拣货")))
    await bot.send(scan("temp01", "TQ-YRF-120"))
    await bot.send(scan("temp01", "TQ-WY-110 x2"))
    await bot.send(press("temp01", button(card, "完成打包")))
    clock.advance(timedelta(days=1))
    assert [c.title for c in cards(await bot.replies("temp01", "任务"))] == ["订单 BG260122-0003"]


async def test_order_assigned_while_already_picking_can_still_be_scanned(bot: ChatBot) -> None:
    await to_sorting(bot, "BG260122-0001")
    assert "→ 拣货中" in await bot.say("wh01", "推进 BG260122-0001")
    assert "已分配给 周临时" in await bot.say("wh01", "分配 BG260122-0001 temp02")
    card = await my_card(bot, "temp02", "BG260122-0001")
    await bot.send(press("temp02", button(card, "扫码拣货")))
    assert "✅ 扫码一致" in text(await bot.send(scan("temp02", "TQ-WY-110")))
    await bot.send(scan("temp02", "TQ-WY-110"))
    await bot.send(scan("temp02", "TQ-YRF-120"))
    assert "打包完成" in text(await bot.send(press("temp02", button(card, "完成打包"))))
    assert "状态：打包完成" in await bot.say("wh01", "查 BG260122-0001")
