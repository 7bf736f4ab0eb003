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
from tests.aftersales.helpers import card_of, last_id, outbox, press


def texts_to(rows: list[OutboxMessage], user: str) -> list[str]:
    return [r.payload["content"] for r in rows if r.msgtype == "text" and user in r.target.split("|")]


async def test_escalates_to_lead_at_4h_and_manager_later_each_once(bot: ChatBot, app: App,
                                                                     clock: ManualClock) -> None:
    await bot.say("cs01", "售后 BG260122-0001 退货 发错颜色")
    mark = await last_id(app)
    clock.advance(timedelta(hours=3, minutes=59))
    assert await sweep_deadlines(app) == 0
    clock.advance(timedelta(minutes=1))
    assert await sweep_deadlines(app) == 1
    rows = await outbox(app, since=mark)
    assert len(texts_to(rows, "wh01")) == 1 and "等待您审批，已超过 4 小时" in texts_to(rows, "wh01")[0]
    assert len(texts_to(rows, "cslead")) == 1 and "升级" in texts_to(rows, "cslead")[0]
    assert "孙仓管" in texts_to(rows, "cslead")[0]
    assert texts_to(rows, "boss") == []
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        assert await sweep_deadlines(app) == 0
    clock.advance(timedelta(hours=4))
    assert await sweep_deadlines(app) == 1
    assert await sweep_deadlines(app) == 0
    rows = await outbox(app, since=mark)
    assert len(texts_to(rows, "boss")) == 1 and "再次升级" in texts_to(rows, "boss")[0]
    assert len(texts_to(rows, "wh01")) == 1 and len(texts_to(rows, "cslead")) == 1


async def test_decided_step_cancels_its_deadlines(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await bot.say("cs01", "售后 BG260122-0001 退货 发错颜色")
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
    await bot.say("cs01", "售后 BG260122-0001 退货 发错颜色")
    mark = await last_id(app)
    await app.close()  # the process stops before the deadline
    clock.advance(timedelta(hours=5))
    restarted = await build_app(app.settings, clock=clock)  # start again (migrates: a no-op)
    try:
        assert await sweep_deadlines(restarted) == 1  # the first sweep on start
        assert await sweep_deadlines(restarted) == 0
        rows = await outbox(restarted, since=mark)
        assert len(texts_to(rows, "wh01")) == 1 and len(texts_to(rows, "cslead")) == 1
    finally:
        await restarted.close()


async def test_two_processes_sweeping_at_once_send_each_once(bot: ChatBot, app: App, clock: ManualClock) -> None:
    for n in ("0001", "0002", "0003", "0004", "0005"):
        assert "已发起" in await bot.say("cs01", f"售后 BG260122-{n} 退货 发错颜色")
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
    assert len(texts_to(rows, "wh01")) == 5 and len(texts_to(rows, "cslead")) == 5 and len(texts_to(rows, "boss")) == 5
    async with app.db.session() as s:
        states = (await s.scalars(select(DueItem.state))).all()
        assert sorted(set(states)) == ["done"]
