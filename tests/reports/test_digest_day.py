"""The day digest: per-channel totals against hand-computed figures, 客服查单应答时长, 售后首次处理时长,
past days (日报 前天 / 01-22 / 上周), the weekly digest, ops reading it, no internal names leaked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.testing import ChatBot
from notifications.digest import DigestConfig, build_digest, sweep_digests
from orders.app import App
from orders.clock import ManualClock
from orders.inbox import InboxMessage
from orders.outbox import OutboxMessage
from orders.reports.models import OrderAsk
from tests.aftersales.helpers import outbox

FRI_0900 = datetime(2026, 1, 23, 1, 0, tzinfo=UTC)


async def _day(bot: ChatBot, clock: ManualClock) -> None:
    """01-22 (Thursday): five Taobao orders created (299.50 each), one shipped, one refund of 59.90."""
    for _ in range(4):
        await bot.say("admin", "推进 BG260122-0001")  # → 物流揽收
    await bot.say("cs01", "售后 BG260122-0002 退款 59.9 尺码不合适")
    clock.advance(timedelta(minutes=30))
    await bot.say("wh01", "通过 AS260122-0001")
    await bot.say("fin01", "通过 AS260122-0001")


async def test_channel_totals_match_a_small_day(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await _day(bot, clock)
    clock.set(FRI_0900)
    md = (await build_digest(app)).markdown
    assert "## 渠道汇总 01-22（括号内：前一日/上周同日）" in md
    assert ("**淘宝** 订单 5（0/0） · 实付 1497.5（0/0） 元 · 发货 1（0/0） · 签收 0（0/0） · "
            "退款 59.9（0/0） 元") in md
    assert "**合计** 订单 5（0/0）" in md
    assert "拼多多" not in md.split("## 渠道汇总")[1].split("##")[0]  # the pdd order is on the 23rd
    assert "## 售后首次处理时长\n中位 30 分钟" in md and "首次响应" not in md
    # the next day compares with the day before
    clock.set(FRI_0900 + timedelta(days=1))
    md = (await build_digest(app)).markdown
    assert "**拼多多** 订单 1（0/0）" in md and "**淘宝** 订单 0（5/0） · 实付 0（1497.5/0） 元" in md


async def test_cs_answer_times(app: App, clock: ManualClock) -> None:
    t0 = datetime(2026, 1, 22, 3, 0, tzinfo=UTC)
    async with app.db.session() as s:
        for i, (user, answer_s) in enumerate([("cs01", 3), ("cs02", 10), ("wh01", 60), ("cs01", None)]):
            at = t0 + timedelta(minutes=i)
            done = at + timedelta(seconds=2)
            s.add(InboxMessage(dedupe_key=f"msg:M{i}", msg_id=f"M{i}", user_id=user, kind="text", xml="",
                               status="done", attempts=1, received_at=at, processed_at=done, error=""))
            s.add(OrderAsk(order_id=1, user_id=user, department="", command="查", state="支付成功",
                           state_since=t0, at=done, msg_id=f"M{i}"))
            s.add(OutboxMessage(channel="app", target=user, msgtype="text", payload={"content": "x"},
                                status="sent" if answer_s else "pending", attempts=1, next_attempt_at=done,
                                created_at=done, sent_at=at + timedelta(seconds=answer_s) if answer_s else None,
                                last_error=""))
    clock.set(FRI_0900)
    md = (await build_digest(app)).markdown
    # warehouse's look-up is not customer service; the unsent reply has no answer time yet
    assert "## 客服查单应答时长\np50 3 秒 · p95 10 秒（2 次查单：消息到达 → 回复送达）" in md


async def test_past_days_and_last_week(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await _day(bot, clock)
    clock.set(datetime(2026, 1, 26, 1, 0, tzinfo=UTC))  # Monday 01-26 09:00
    past = await bot.say("boss", "日报 01-22")
    assert "运营日报 01-22（回看）" in past and "**淘宝** 订单 5（0/0）" in past
    assert "昨日" not in past and "超时订单" not in past  # the stuck list is about now: left out
    assert "运营日报 01-24" in await bot.say("boss", "日报 前天")  # yesterday is 01-25
    assert "运营日报 01-22" in await bot.say("ops01", "日报 １月22日")  # ops may read it; full-width digits
    week = await bot.say("ops01", "日报 上周")
    assert "运营周报 01-19～01-25" in week and "**合计** 订单 6（0）" in week
    assert "跨部门协作中断 0 次（上周）" in week and "昨日" not in week
    for bad, says in (("明天见", "看不懂「明天见」"), ("02-30", "没有这一天"), ("01-26", "还没有过完")):
        reply = await bot.say("boss", f"日报 {bad}")
        assert says in reply and "daily" not in reply and "weekly" not in reply
    assert "您的角色不能使用「日报」" in await bot.say("cs01", "日报")


async def test_weekly_digest_goes_out_on_monday(app: App, clock: ManualClock) -> None:
    spec = DigestConfig.load(app.config).get("weekly")
    assert spec.period == "week" and spec.weekdays == frozenset({0})
    clock.set(datetime(2026, 1, 26, 0, 59, tzinfo=UTC))  # Monday 08:59
    assert await sweep_digests(app) == []
    clock.advance(timedelta(minutes=1))
    assert sorted(await sweep_digests(app)) == ["daily", "weekly"]
    texts = [r.payload["content"] for r in await outbox(app, "markdown")]
    assert any("运营周报 01-19～01-25" in t for t in texts)
    clock.advance(timedelta(days=1))
    assert await sweep_digests(app) == ["daily"]
