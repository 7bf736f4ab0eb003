"""Deadlines: reminder + lead at 4 h, managers later, each exactly once; restarts and two sweepers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.testing import ChatBot
from notifications.sweeper import sweep_deadlines
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.due import DueItem
from orders.outbox import OutboxMessage
from tests.aftersales.helpers import card_of, last_id, outbox, photo, press, ship


def texts_to(rows: list[OutboxMessage], user: str) -> list[str]:
    return [r.payload["content"] for r in rows if r.msgtype == "text" and user in r.target.split("|")]


async def test_escalates_to_lead_at_4h_and_manager_later_each_once(bot: ChatBot, app: App,
                                                                     clock: ManualClock) -> None:
    await bot.say("cs01", "售后 BG260122-0001 退款 10 发错颜色")
    mark = await last_id(app)
    clock.advance(timedelta(hours=3, minutes=59))
    assert await sweep_deadlines(app) == 0
    clock.advance(timedelta(minutes=1))
    assert await sweep_deadlines(app) == 1
    rows = await outbox(app, since=mark)
    assert len(texts_to(rows, "fin01")) == 1 and "⏰ 提醒：1 个售后审批已超时" in texts_to(rows, "fin01")[0]
    assert len(texts_to(rows, "cslead")) == 1 and "升级" in texts_to(rows, "cslead")[0]
    assert "吴财务" in texts_to(rows, "cslead")[0]  # no finance_lead: the default lead
    assert texts_to(rows, "boss") == []
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        assert await sweep_deadlines(app) == 0
    clock.advance(timedelta(hours=4))
    assert await sweep_deadlines(app) == 1
    assert await sweep_deadlines(app) == 0
    rows = await outbox(app, since=mark)
    assert len(texts_to(rows, "boss")) == 1 and "再次升级" in texts_to(rows, "boss")[0]
    assert len(texts_to(rows, "fin01")) == 1 and len(texts_to(rows, "cslead")) == 1
    history = await bot.say("cs01", "轨迹 BG260122-0001")
    assert "售后超时升级" in history and "已提醒 吴财务，升级给 赵组长" in history
    assert "售后再次升级" in history and "再次升级给 陈总" in history


async def test_decided_step_cancels_its_deadlines(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await ship(bot, "BG260122-0001", 4)
    await bot.say("cs01", "售后 BG260122-0001 退货 10 发错颜色")
    await photo(app, "BG260122-0001")
    card = card_of((await outbox(app, "template_card"))[0])
    clock.advance(timedelta(hours=3))
    await press(bot, "wh01", card, "通过")
    mark = await last_id(app)
    clock.advance(timedelta(hours=1, minutes=30))  # warehouse deadline passed, but it was decided
    assert await sweep_deadlines(app) == 0
    assert await outbox(app, since=mark) == []
    clock.advance(timedelta(hours=3))  # finance: opened at 13:00, due 17:00
    assert await sweep_deadlines(app) == 1
    assert len(texts_to(await outbox(app, since=mark), "fin01")) == 1


async def test_deadline_passing_while_down_is_sent_once_on_start(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await bot.say("cs01", "售后 BG260122-0001 退款 10 发错颜色")
    mark = await last_id(app)
    await app.close()  # the process stops before the deadline
    clock.advance(timedelta(hours=5))
    restarted = await build_app(app.settings, clock=clock)  # start again (migrates: a no-op)
    try:
        assert await sweep_deadlines(restarted) == 1  # the first sweep on start
        assert await sweep_deadlines(restarted) == 0
        rows = await outbox(restarted, since=mark)
        assert len(texts_to(rows, "fin01")) == 1 and len(texts_to(rows, "cslead")) == 1
    finally:
        await restarted.close()


async def test_two_processes_sweeping_at_once_send_each_once(bot: ChatBot, app: App, clock: ManualClock) -> None:
    for n in ("0001", "0002", "0003", "0004", "0005"):
        assert "已发起" in await bot.say("cs01", f"售后 BG260122-{n} 退款 10 发错颜色")
    mark = await last_id(app)
    clock.advance(timedelta(hours=9))  # lead and manager deadlines of all five are due
    other = await build_app(app.settings, clock=clock, migrate=False)
    try:
        for _ in range(3):
            counts = await asyncio.gather(sweep_deadlines(app, worker="a"), sweep_deadlines(other, worker="b"),
                                          sweep_deadlines(app, worker="c"), sweep_deadlines(other, worker="d"))
            if _ == 0:
                assert sum(counts) == 10
            else:
                assert counts == [0, 0, 0, 0]
    finally:
        await other.close()
    rows = await outbox(app, since=mark)
    # one message per recipient per sweep, each listing the five cases
    for user, head in (("fin01", "⏰ 提醒：5 个"), ("cslead", "⚠️ 升级：您部门有 5 个"), ("boss", "🚨 再次升级：5 个")):
        msgs = texts_to(rows, user)
        assert len(msgs) == 1 and msgs[0].startswith(head), (user, msgs)
        assert all(f"AS260122-000{i}" in msgs[0] for i in range(1, 6))
    async with app.db.session() as s:
        states = (await s.scalars(select(DueItem.state))).all()
        assert sorted(set(states)) == ["done"]
