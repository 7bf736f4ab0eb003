"""The digest: contents from real rows, no-data, the once-a-day marker, catch-up, 日报 and config."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.testing import ChatBot
from notifications.digest import DigestConfig, build_digest, parse_days, sweep_digests
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.models import Order
from tests.aftersales.helpers import card_of, outbox, press

DAY1_0859 = datetime(2026, 1, 23, 0, 59, tzinfo=UTC)  # 08:59 Shanghai, Friday 2026-01-23


def _png_under(path: str, folder: Path) -> bool:
    p = Path(path)
    return p.is_relative_to(folder.resolve()) and p.read_bytes().startswith(b"\x89PNG")


async def _activity(bot: ChatBot, app: App, clock: ManualClock) -> None:
    """Yesterday (01-22): two unshipped cases (客服 → 财务), one approved, one rejected; one misship."""
    for _ in range(3):
        await bot.say("admin", "推进 BG260122-0001")  # → 打包完成 (a packed order)
    await bot.say("cs01", "售后 BG260122-0001 退款 59.9 尺码不合适")
    await bot.say("cs01", "售后 BG260122-0002 退货 全额 发错颜色")
    cards = [card_of(r) for r in await outbox(app, "template_card")]
    clock.advance(timedelta(minutes=45))
    await press(bot, "fin01", cards[1], "驳回")
    await bot.say("fin01", "未收到退货")
    clock.advance(timedelta(hours=1))
    await bot.say("fin01", "通过 AS260122-0001")


async def test_digest_contents(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await _activity(bot, app, clock)
    clock.set(DAY1_0859)
    dg = await build_digest(app)
    md = dg.markdown
    assert "运营日报 01-23（昨日 01-22）" in md
    assert "超时订单 TOP 20（共 5 单超时）\n1. BG260122-0002 · 淘宝 · 支付成功 · 超时 22.0 小时" in md
    assert "BG260122-0001 · 淘宝 · 打包完成 · 超时 11.0 小时" in md  # packed 10:00, 12 h limit
    assert "BG260123-0001" not in md  # created 09:00 on the 23rd: not late
    assert "「查 单号」" in md
    assert "**淘宝**：" in md and "尺码不合适 1" in md and "发错颜色 1" in md
    assert "新开 2 · 结案 2（通过 1 / 驳回 1）" in md
    assert "审批中位时长：75 分钟" in md  # 105 min and 45 min
    assert "退款记账 59.9 元" in md
    assert "售后首次处理时长\n中位 75 分钟" in md  # 105 min and 45 min
    assert "错发率（目标 < 0.2%）\n昨日 100.00%（错发 1 / 打包完成 1）⚠️ 超标\n近7天 100.00%" in md
    assert "结算差异率\n无对账数据" in md
    assert dg.chart is not None and dg.chart.startswith(b"\x89PNG")
    assert not dg.empty
    assert all(len(c.encode()) <= 2000 for c in dg.chunks())


async def test_digest_with_no_data_says_so(app: App, clock: ManualClock) -> None:
    async with app.db.session() as s:
        await s.execute(update(Order).values(status="售后关闭"))  # nothing can be late in a final state
    dg = await build_digest(app)
    assert dg.empty
    md = dg.markdown
    assert "昨日暂无业务数据" in md and "无：所有订单都在时限内" in md and "昨日无退款类售后" in md
    assert "中位 无数据" in md and "昨日 无打包与错发数据\n近7天 无打包与错发数据" in md and "无对账数据" in md
    assert dg.chart is not None


async def test_sweep_sends_once_per_day_and_catches_up(bot: ChatBot, app: App, clock: ManualClock) -> None:
    clock.set(DAY1_0859)
    assert await sweep_digests(app) == []  # not 09:00 yet
    clock.advance(timedelta(minutes=1))
    assert await sweep_digests(app) == ["daily"]
    assert await sweep_digests(app) == []
    rows = await outbox(app)
    assert {r.msgtype for r in rows} == {"markdown", "image"} and all(r.target == "boss" for r in rows)
    image = next(r for r in rows if r.msgtype == "image")
    path = image.payload["path"]
    assert await asyncio.to_thread(_png_under, path, app.settings.data_dir)
    # the process is down over the next 09:00 and starts at 15:00: the digest goes out once
    await app.close()
    clock.set(datetime(2026, 1, 24, 7, 0, tzinfo=UTC))
    restarted = await build_app(app.settings, clock=clock)
    try:
        assert await sweep_digests(restarted) == ["daily"]
        assert await sweep_digests(restarted) == []
        assert len(await outbox(restarted, "image")) == 2
        # a restart the day after an outage does not send the missed day's digest late
        clock.set(datetime(2026, 1, 25, 0, 30, tzinfo=UTC))  # 08:30 on the 25th
        assert await sweep_digests(restarted) == []
    finally:
        await restarted.close()


async def test_two_processes_send_the_digest_once(app: App, clock: ManualClock) -> None:
    clock.set(DAY1_0859 + timedelta(minutes=5))
    other = await build_app(app.settings, clock=clock, migrate=False)
    try:
        a, b = await asyncio.gather(sweep_digests(app, worker="a"), sweep_digests(other, worker="b"))
    finally:
        await other.close()
    assert sorted(a + b) == ["daily"]
    assert len(await outbox(app, "image")) == 1


async def test_config_change_applies_without_restart(app: App, clock: ManualClock, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "digests.yaml").write_text(
        "digests:\n  - name: weekday\n    time: '10:30'\n    days: mon-fri\n    to: {users: [fin01]}\n"
        "    reports: [aftersales]\n", encoding="utf-8")
    object.__setattr__(app.config, "override", conf)  # as if ORDERBOT_CONFIG_DIR pointed here
    clock.set(datetime(2026, 1, 23, 2, 0, tzinfo=UTC))  # Friday 10:00
    assert await sweep_digests(app) == []
    clock.advance(timedelta(minutes=30))
    assert await sweep_digests(app) == ["weekday"]
    rows = await outbox(app)
    assert [r.msgtype for r in rows] == ["markdown"] and rows[0].target == "fin01"
    assert "## 售后" in rows[0].payload["content"] and "超时订单" not in rows[0].payload["content"]
    clock.set(datetime(2026, 1, 24, 3, 0, tzinfo=UTC))  # Saturday 11:00: not a weekday
    assert await sweep_digests(app) == []


def test_days_are_names_not_numbers() -> None:
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("sat,sun") == frozenset({5, 6})
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    with pytest.raises(ValueError, match="day names"):
        parse_days("1-5")
    with pytest.raises(ValueError, match="unknown report"):
        DigestConfig.from_dict({"digests": [{"name": "x", "reports": ["bogus"]}]})


async def test_ribao_for_managers_and_ops(bot: ChatBot) -> None:
    replies = await bot.replies("boss", "日报")
    assert "运营日报" in replies[0].markdown and replies[-1].image is not None
    assert "运营日报" in await bot.say("ops01", "日报")
    assert "不能使用「日报」" in await bot.say("cs01", "日报")
    reply = await bot.say("boss", "日报 weekly")  # a digest's internal name is not a period
    assert "看不懂「weekly」" in reply and "daily" not in reply


async def test_digest_reports_the_reconciled_settlement_rate(app: App, clock: ManualClock, tmp_path: Path) -> None:
    from orders.finance.reconcile import reconcile

    bank = tmp_path / "bank.csv"
    bank.write_text("流水号,订单号,金额\nS1,BG260122-0002,1.00\nS2,NOPE-1,10.00\n", encoding="utf-8")
    res = await reconcile(app.db, app.clock, bank, date(2026, 1, 22))
    assert res.diff_rate_bp > 0
    clock.set(DAY1_0859)
    md = (await build_digest(app)).markdown
    assert f"结算差异率\n{res.diff_rate_bp / 10_000:.2%}（昨日对账）" in md
