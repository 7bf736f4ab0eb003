"""Collaboration: interruptions counted by the rule (cross-department, overdue or asked twice in an
hour; never inside one department), handoff waits, the heat map PNG, 协作 and the digest line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from bot.testing import ChatBot
from notifications.chart import missing_glyphs
from notifications.collab_chart import WEEKDAYS, render_heatmaps
from notifications.digest import build_digest
from orders.app import App
from orders.clock import ManualClock
from orders.reports.collaboration import build
from orders.reports.models import OrderAsk

THU_1000 = datetime(2026, 1, 22, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Shanghai


async def _day(bot: ChatBot, clock: ManualClock) -> None:
    """BG260122-0001..0005 are in 支付成功 (客服部) since 09:01, limit 2 h."""
    await bot.say("wh01", "查 BG260122-0001")  # 10:00 warehouse asks about a cs order: first time, in time
    clock.advance(timedelta(minutes=20))
    await bot.say("wh01", "查 BG260122-0001")  # 10:20 again within the hour: interruption 1 (仓储部 → 客服部)
    clock.advance(timedelta(minutes=10))
    await bot.say("cs01", "查 BG260122-0001")  # 10:30 the owning department itself: never counted
    clock.set(THU_1000 + timedelta(hours=2))
    await bot.say("ops01", "轨迹 BG260122-0002")  # 12:00 past the 2 h limit: interruption 2 (运营部 → 客服部)
    await bot.say("admin", "推进 BG260122-0004")  # 12:00 handoff 客服部 → 仓储部 (仓库分单)
    clock.advance(timedelta(minutes=30))
    await bot.say("cs01", "查 BG260122-0004")  # 12:30 cs asks the warehouse: first time, in time
    clock.advance(timedelta(minutes=30))
    await bot.say("cs01", "查 BG260122-0004")  # 13:00 again: interruption 3 (客服部 → 仓储部)
    clock.advance(timedelta(minutes=30))
    await bot.say("wh01", "推进 BG260122-0004")  # 13:30 → 拣货中: the handoff waited 90 minutes
    clock.set(THU_1000 + timedelta(hours=4))


async def test_interruptions_by_the_rule(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await _day(bot, clock)
    async with app.db.session() as s:
        asks = (await s.scalars(select(OrderAsk).order_by(OrderAsk.id))).all()
    assert [(a.user_id, a.department, a.command, a.state) for a in asks][:3] == [
        ("wh01", "仓储部", "查", "支付成功"), ("wh01", "仓储部", "查", "支付成功"),
        ("cs01", "客服部", "查", "支付成功")]
    now = clock.now()
    c = await build(app, now - timedelta(days=7), now)
    assert c.count == 3
    pairs = {(a, o): int(c.by_dept.loc[a, o]) for a in c.by_dept.index for o in c.by_dept.columns
             if c.by_dept.loc[a, o]}
    assert pairs == {("仓储部", "客服部"): 1, ("运营部", "客服部"): 1, ("客服部", "仓储部"): 1}
    assert c.per_day == {"2026-01-22": 3}
    assert c.handoffs == 1 and c.wait_median[3, 12] == 90  # Thursday, 12 o'clock
    assert np.isnan(c.wait_median).sum() == 7 * 24 - 1


async def test_same_department_never_counts(bot: ChatBot, app: App, clock: ManualClock) -> None:
    clock.set(THU_1000 + timedelta(hours=3))  # every order past its limit
    for _ in range(3):
        await bot.say("cs01", "查 BG260122-0003")
        await bot.say("cslead", "轨迹 BG260122-0003")
    now = clock.now()
    assert (await build(app, now - timedelta(days=1), now + timedelta(minutes=1))).count == 0
    await bot.say("fin01", "查 BG260122-0003")  # finance on an overdue order: counted
    assert (await build(app, now - timedelta(days=1), now + timedelta(minutes=1))).count == 1


async def test_collaboration_command_and_heat_map(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await _day(bot, clock)
    replies = await bot.replies("boss", "协作")
    text = replies[0].text
    assert "近 7 日跨部门协作中断 3 次（日均 0.4）" in text
    assert "· 仓储部 问 客服部：1 次" in text and "周四 12 时 90 分钟" in text
    assert replies[1].image is not None and replies[1].image.startswith(b"\x89PNG")
    assert "您的角色不能使用「协作」" in await bot.say("cs01", "协作")


def test_heat_map_renders_with_chinese_glyphs() -> None:
    waits = np.full((7, 24), np.nan)
    waits[0, 9] = 35
    png = render_heatmaps(["客服部", "仓储部"], ["客服部", "物流部"], [[0, 2], [5, 0]], waits, "近 7 日")
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    labels = ("跨部门协作中断（次）部门交接等待中位数（分钟）提问部门订单所在状态的负责部门交接时刻（时）"
              + "".join(WEEKDAYS))
    assert missing_glyphs(labels) == set()
    empty = render_heatmaps([], [], [], np.full((7, 24), np.nan))
    assert empty.startswith(b"\x89PNG")


async def test_digest_line(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await _day(bot, clock)
    clock.set(datetime(2026, 1, 23, 1, 0, tzinfo=UTC))  # Friday 09:00
    md = (await build_digest(app)).markdown
    assert "跨部门协作中断 3 次（昨日），近 7 日均 0.4" in md
