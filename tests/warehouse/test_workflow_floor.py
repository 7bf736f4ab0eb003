"""Workflow edits don't break the floor: 质检 added before 打包完成 gets its own button (with the
temp's roles) or is passed through (直通); an edit leaving temps stuck is refused naming the fix."""

from __future__ import annotations

from bot.testing import ChatBot
from tests.warehouse.helpers import button, cards, my_card, press, scan, text, to_sorting

NO = "BG260122-0001"


async def scan_all(bot: ChatBot) -> None:
    card = await my_card(bot, "temp01", NO)
    await bot.send(press("temp01", button(card, "扫码拣货")))
    await bot.send(scan("temp01", "TQ-YRF-120"))
    out = text(await bot.send(scan("temp01", "TQ-WY-110*2")))
    assert "全部扫完" in out, out


async def test_state_with_its_own_button(bot: ChatBot) -> None:
    out = await bot.say("admin", "流程 加状态 质检 在 打包完成 之前")  # no roles: temps would be stuck
    assert "仓库临时工不能推进到它" in out and "直通" in out
    out = await bot.say("admin", "流程 加状态 质检 在 打包完成 之前 角色 warehouse_temp,warehouse")
    assert "已加状态「质检」" in out
    await to_sorting(bot, NO)
    await scan_all(bot)
    card = await my_card(bot, "temp01", NO)
    assert [b.text for b in card.buttons] == ["扫码拣货", "异常上报", "质检"]  # still exactly three
    assert "→ 质检。完成后点「完成打包」" in text(await bot.send(press("temp01", button(card, "质检"))))
    card = await my_card(bot, "temp01", NO)
    assert [b.text for b in card.buttons][-1] == "完成打包"
    assert "打包完成（打包完成）" in text(await bot.send(press("temp01", button(card, "完成打包"))))
    trail = await bot.say("wh01", f"轨迹 {NO}")
    assert "拣货中→质检" in trail and "质检→打包完成" in trail


async def test_pass_through_state(bot: ChatBot) -> None:
    out = await bot.say("admin", "流程 加状态 质检 在 打包完成 之前 直通")
    assert "仓库按钮直通" in out
    await to_sorting(bot, NO)
    await scan_all(bot)
    card = await my_card(bot, "temp01", NO)
    assert [b.text for b in card.buttons][-1] == "完成打包"
    assert "打包完成（打包完成）" in text(await bot.send(press("temp01", button(card, "完成打包"))))
    assert "拣货中→质检" in await bot.say("wh01", f"轨迹 {NO}")  # passed through, on the timeline


async def test_edits_that_strand_temps_are_refused(bot: ChatBot) -> None:
    out = await bot.say("admin", "流程 加状态 复核 在 仓库分单 之后 角色 warehouse")  # the temps can't
    assert "仓库临时工不能推进到它" in out and "直通" in out
    assert "复核" not in await bot.say("wh01", "流程")
    assert "仓库流程需要状态「拣货中」" in await bot.say("admin", "流程 删状态 拣货中")
    assert "已加状态「复核」" in await bot.say("admin", "流程 加状态 复核 在 仓库分单 之后 直通")
    await to_sorting(bot, NO)
    await scan_all(bot)  # the first goods scan passes 复核 on its way to 拣货中
    trail = await bot.say("wh01", f"轨迹 {NO}")
    assert "仓库分单→复核" in trail and "复核→拣货中" in trail
    assert [c.title for c in cards(await bot.replies("temp01", "任务"))] == [f"订单 {NO}"]
