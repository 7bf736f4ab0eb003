"""Approvers' queues: 待办, 通过 with several cases, a lead deciding an overdue step of their own
department, refusals naming people, a late press told the real current step, 帮助 per role."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.testing import ChatBot
from notifications.sweeper import sweep_deadlines
from orders.app import App
from orders.clock import ManualClock
from tests.aftersales.helpers import add_user, card_of, last_id, outbox, photo, press, ship


async def test_todo_lists_what_waits_oldest_first(bot: ChatBot, app: App, clock: ManualClock) -> None:
    assert "目前没有等您处理的售后单" in await bot.say("fin01", "待办")
    await bot.say("cs01", "售后 BG260122-0001 退款 10 少发")
    clock.advance(timedelta(hours=1))
    await bot.say("cs01", "售后 BG260122-0002 补偿 二十 物流慢")
    out = await bot.say("fin01", "待办")
    lines = out.splitlines()
    assert lines[0].startswith("待办售后单 2 个") and "每天 09:00-21:00" in lines[0]
    assert lines[1].startswith("1. AS260122-0001 · BG260122-0001 · 仅退款 10元") and "已等 1.0 工作小时" in lines[1]
    assert lines[2].startswith("2. AS260122-0002 · BG260122-0002 · 补偿 20元") and "已等 0.0 工作小时" in lines[2]
    assert "通过 AS260122-0001 AS260122-0002" in out
    assert "目前没有" in await bot.say("wh01", "待办")


async def test_batch_approval(bot: ChatBot, app: App) -> None:
    for n in ("0001", "0002", "0003"):
        await bot.say("cs01", f"售后 BG260122-{n} 退款 10 少发")
    await bot.say("fin01", "通过 AS260122-0002")
    out = await bot.say("fin01", "通过 AS260122-0001 AS260122-0002，AS260122-0003 AS999999-0001")
    assert out.startswith("批量通过：2/4 个成功")
    assert "✅ 已通过售后单 AS260122-0001" in out and "✅ 已通过售后单 AS260122-0003" in out
    assert "❌ AS260122-0002：售后单 AS260122-0002 的「财务核对」已处理（通过 · 吴财务" in out
    assert "❌ AS999999-0001：没有找到售后单" in out
    assert "目前没有" in await bot.say("fin01", "待办")


async def test_warehouse_lead_gets_and_decides_an_overdue_warehouse_step(bot: ChatBot, app: App,
                                                                        clock: ManualClock) -> None:
    await add_user(app, "whlead", "钱主管", ["warehouse_lead"], "仓储部")
    await ship(bot, "BG260122-0001", 4)
    await bot.say("cs01", "售后 BG260122-0001 退货 10 破损")
    await photo(app, "BG260122-0001")
    todo = await bot.say("whlead", "待办")
    assert "AS260122-0001" in todo and "孙仓管 处理中，超时后您可处理" in todo
    assert "超时后可由仓库主管处理" in await bot.say("whlead", "通过 AS260122-0001")  # not yet overdue
    mark = await last_id(app)
    clock.advance(timedelta(hours=4))
    assert await sweep_deadlines(app) == 1
    texts = [r for r in await outbox(app, "text", since=mark)]
    assert {r.target for r in texts} == {"wh01", "whlead"}  # its own department's lead, not cs_lead
    assert "⏰超时" in await bot.say("whlead", "待办")
    assert "已转「财务核对」" in await bot.say("whlead", "通过 AS260122-0001")
    assert "钱主管 售后通过" in await bot.say("cs01", "轨迹 BG260122-0001")
    # a lead of another department cannot
    assert "您不能处理" in await bot.say("cslead", "通过 AS260122-0001")


async def test_three_presses_at_once_the_late_ones_see_the_real_step(bot: ChatBot, app: App) -> None:
    await add_user(app, "wh02", "冯仓管", ["warehouse"], "仓储部")
    await add_user(app, "wh03", "卫仓管", ["warehouse"], "仓储部")
    await ship(bot, "BG260122-0001", 4)
    await bot.say("cs01", "售后 BG260122-0001 退货 10 发错颜色")
    await photo(app, "BG260122-0001")
    card = card_of((await outbox(app, "template_card"))[0])
    outs = await asyncio.gather(*(press(bot, u, card, "通过") for u in ("wh01", "wh02", "wh03")))
    won = [o for o in outs if "已转「财务核对」" in o]
    late = [o for o in outs if o not in won]
    assert len(won) == 1 and len(late) == 2
    assert all("已处理" in o and "当前步骤：财务核对" in o for o in late), late


async def test_help_lists_what_each_role_uses(bot: ChatBot, app: App) -> None:
    await add_user(app, "whlead", "钱主管", ["warehouse_lead"], "仓储部")
    cs = await bot.say("cs01", "帮助")
    assert "· 售后：" in cs and "· 通过：" not in cs and "· 驳回：" not in cs and "· 待办：" not in cs
    fin = await bot.say("fin01", "帮助")
    assert "· 待办：" in fin and "· 通过：" in fin and "· 售后：" not in fin
    lead = await bot.say("whlead", "帮助")
    assert "仓库主管" in lead and "· 待办：" in lead and "· 通过：" in lead


async def test_case_list_without_a_number(bot: ChatBot, app: App) -> None:
    assert "您没有处理中的售后单" in await bot.say("cs01", "售后单")
    await bot.say("cs01", "售后 BG260122-0001 退款 10 少发")
    mine = await bot.say("cs01", "售后单")
    assert "1. AS260122-0001 · BG260122-0001 · 仅退款 10元 · 当前「财务核对」" in mine
    assert "待办售后单 1 个" in await bot.say("fin01", "售后单")  # an approver gets their queue
