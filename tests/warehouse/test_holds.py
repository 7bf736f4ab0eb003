"""Holds stop the floor: 拦截 / 退款中 / 已取消 / an open refund case, arriving before assignment,
mid-pick and after packing; the card updated in place, the temp told, scans and packing refused,
moves past 打包完成 refused for everyone until 放行."""

from __future__ import annotations

import re
from urllib.parse import unquote

from sqlalchemy import select

from bot.testing import ChatBot
from orders.app import App
from orders.board_links import path_of
from orders.intake.canonical import CanonOrder
from orders.intake.importer import Importer
from orders.models import Order
from orders.warehouse import holds
from tests.factories import canon
from tests.warehouse.helpers import button, my_card, outbox, press, scan, text, to_sorting

NO = "BG260122-0001"


async def start_pick(bot: ChatBot, order_no: str = NO, user: str = "temp01") -> None:
    card = await my_card(bot, user, order_no)
    assert "请逐件扫描" in text(await bot.send(press(user, button(card, "扫码拣货"), "rc-s")))
    assert "✅ 扫码一致" in text(await bot.send(scan(user, "TQ-YRF-120")))


async def pack(bot: ChatBot, order_no: str = NO, user: str = "temp01") -> str:
    card = await my_card(bot, user, order_no)
    await bot.send(press(user, button(card, "扫码拣货")))
    await bot.send(scan(user, "TQ-WY-110*2"))
    return text(await bot.send(press(user, button(card, "完成打包"))))


async def texts_to(app: App, user: str) -> list[str]:
    return [r.payload["content"] for r in await outbox(app, "text") if user in r.target.split("|")]


async def card_updates(app: App) -> list[dict]:  # type: ignore[type-arg]
    return [r.payload for r in await outbox(app, "update_card") if "task_id" in r.payload]


async def test_intercept_mid_pick_updates_card_tells_temp_and_refuses_until_release(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, NO)
    await start_pick(bot)
    out = await bot.say("cs01", f"拦截 {NO} 买家要改尺码")
    assert "已拦截" in out and "已通知拣货员停止拣货" in out
    told = (await texts_to(app, "temp01"))[-1]
    assert "暂停 — 请勿发货" in told and "拦截：买家要改尺码" in told
    [upd] = await card_updates(app)
    assert upd["template_card"]["main_title"]["desc"] == "暂停 — 请勿发货：拦截：买家要改尺码"
    assert upd["task_id"].startswith("wt")
    refused = text(await bot.send(scan("temp01", "TQ-WY-110")))
    assert "⛔" in refused and "不能扫码拣货" in refused
    card = await my_card(bot, "temp01", NO)
    assert card.desc.startswith("暂停 — 请勿发货") and len(card.buttons) == 3
    assert "⛔" in text(await bot.send(press("temp01", button(card, "完成打包"))))
    assert "⛔" in text(await bot.send(press("temp01", button(card, "扫码拣货"))))
    assert "⛔" in await bot.say("wh01", f"推进 {NO} 打包完成 仓管确认")  # not even the lead's override
    assert "状态：拣货中" in await bot.say("wh01", f"查 {NO}")
    assert "您的角色不能使用「放行」" in await bot.say("cs01", f"放行 {NO} 改好了")
    assert "已放行" in await bot.say("wh01", f"放行 {NO} 买家确认不改")
    assert "已解除暂停" in (await texts_to(app, "temp01"))[-1]
    assert "打包完成" in await pack(bot)
    trail = await bot.say("wh01", f"轨迹 {NO}")
    assert "暂停发货（买家要改尺码）" in trail and "解除暂停（买家确认不改）" in trail


async def test_intercept_before_assignment_shows_on_the_card(bot: ChatBot) -> None:
    assert "已拦截" in await bot.say("cslead", f"拦截 {NO} 疑似欺诈")
    await to_sorting(bot, NO)  # still assigned: the card tells the temp not to work it
    card = await my_card(bot, "temp01", NO)
    assert card.desc == "暂停 — 请勿发货：拦截：疑似欺诈"
    assert "⛔" in text(await bot.send(press("temp01", button(card, "扫码拣货"))))


async def test_intercept_after_packing_tells_the_lead_to_pull_the_parcel(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, NO)
    await start_pick(bot)
    assert "打包完成" in await pack(bot)
    out = await bot.say("cs01", f"拦截 {NO} 买家退款")
    assert "包裹已打包，已通知仓管从待发区拦下" in out
    [pull] = [t for t in await texts_to(app, "wh01") if "请把包裹从待发区拦下" in t]
    assert "/board/" not in pull  # no ORDERBOT_BOARD_URL: no link
    assert "⛔" in await bot.say("wh01", f"推进 {NO} 物流揽收")
    assert "⛔" in await bot.say("admin", f"推进 {NO} 物流揽收")  # for everyone
    assert "已放行" in await bot.say("wh01", f"放行 {NO} 退款已撤销")
    assert "→ 物流揽收" in await bot.say("wh01", f"推进 {NO} 物流揽收")
    assert "包裹已离开仓库" in await bot.say("cs01", f"拦截 {NO} 太晚了")


async def test_packed_hold_tells_the_lead_with_the_board_order_link(bot: ChatBot, app: App) -> None:
    app.settings.board_url = "https://board.example"
    await to_sorting(bot, NO)
    await start_pick(bot)
    assert "打包完成" in await pack(bot)
    importer = Importer(app.db, app.clock, app.workflows, app.settings.tz, service=app.orders)
    await importer.import_orders([CanonOrder.model_validate(canon("T1001", flags=["退款中"]))])  # an import
    assert "已拦截" in await bot.say("cs01", f"拦截 {NO} 买家退款")  # a person's 拦截
    assert "订单已暂停发货" in await bot.say("cs01", f"售后 {NO} 退款 10 少发")  # an after-sales case
    assert "已取消" in await bot.say("cs01", f"取消 {NO} 买家不要了")  # a cancel (the service's hook)
    pulls = [t for t in await texts_to(app, "wh01") if "请把包裹从待发区拦下" in t]
    assert len(pulls) == 4
    for pull in pulls:
        m = re.search(r"\n在看板中打开：https://board\.example/board/go\?t=(\S+)$", pull)
        assert m, pull
        assert path_of(app.settings.secret_key, unquote(m.group(1)), app.clock.now()) == f"/board/order/{NO}"


async def test_cancel_after_packing_tells_the_lead(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, NO)
    await start_pick(bot)
    assert "打包完成" in await pack(bot)
    assert "已取消" in await bot.say("cs01", f"取消 {NO} 买家不要了")
    pulls = [t for t in await texts_to(app, "wh01") if "请把包裹从待发区拦下" in t]
    assert len(pulls) == 1 and "订单已取消" in pulls[0]


async def test_platform_refund_flag_holds_and_its_end_releases(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, NO)
    await start_pick(bot)
    importer = Importer(app.db, app.clock, app.workflows, app.settings.tz, service=app.orders)
    await importer.import_orders([CanonOrder.model_validate(canon("T1001", flags=["退款中"]))])
    assert "平台退款中" in (await texts_to(app, "temp01"))[-1]
    assert "⛔" in text(await bot.send(scan("temp01", "TQ-WY-110")))
    await importer.import_orders([CanonOrder.model_validate(canon("T1001"))])  # the buyer withdrew it
    assert "已解除暂停" in (await texts_to(app, "temp01"))[-1]
    assert "✅ 扫码一致" in text(await bot.send(scan("temp01", "TQ-WY-110")))


async def test_cancel_mid_pick_updates_the_card(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, NO)
    await start_pick(bot)
    assert "已取消" in await bot.say("cs01", f"取消 {NO} 买家不要了")
    assert "订单已取消" in (await texts_to(app, "temp01"))[-1]
    assert (await card_updates(app))[-1]["template_card"]["main_title"]["desc"] == "暂停 — 请勿发货：订单已取消"
    assert "⛔" in text(await bot.send(scan("temp01", "TQ-WY-110")))
    out = await bot.say("wh01", f"放行 {NO} 试试")
    assert "仍不能发货：订单已取消" in out


async def test_open_refund_case_holds(bot: ChatBot, app: App) -> None:
    await to_sorting(bot, NO)
    assert "订单已暂停发货" in await bot.say("cs01", f"售后 {NO} 退款 10 少发")
    async with app.db.session() as s:
        order = await s.scalar(select(Order).where(Order.order_no == NO))
        assert order is not None
        found = await holds.holds_of(s, order)
    assert [h.reason for h in found] == ["拦截：仅退款 AS260122-0001"]  # after-sales holds through the same API
    card = await my_card(bot, "temp01", NO)
    assert "⛔" in text(await bot.send(press("temp01", button(card, "扫码拣货"))))
    out = await bot.say("wh01", f"放行 {NO} 仓库要发")  # the flag goes, the open case still holds
    assert "仍不能发货：售后单 AS260122-0001（仅退款）处理中" in out and "售后单需先结束" in out


async def test_hold_refusals(bot: ChatBot, app: App) -> None:
    assert "用法：拦截 <单号> <原因>" in await bot.say("cs01", f"拦截 {NO}")
    assert "没有找到订单" in await bot.say("cs01", "拦截 BG000000-9999 原因")
    assert "原因太长" in await bot.say("cs01", f"拦截 {NO} " + "长" * 61)
    assert "您的角色不能使用「拦截」" in await bot.say("temp01", f"拦截 {NO} 原因")
    assert "没有暂停" in await bot.say("wh01", f"放行 {NO} 没事")
    async with app.db.session() as s:
        order = await s.scalar(select(Order).where(Order.order_no == NO))
        assert order is not None and order.flags == []
