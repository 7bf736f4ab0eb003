"""The customer value pool: generated buyers through the real importer and database, the metrics
by hand, segments from YAML, 客户池 in chat, the nightly sweep and the outreach export."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import delete, select

from bot.testing import ChatBot
from orders.aftersales.models import AfterSalesCase
from orders.app import App
from orders.clock import ManualClock
from orders.intake.canonical import CanonOrder
from orders.intake.importer import Importer
from orders.models import Order
from orders.privacy import hash_buyer_id, hash_phone
from orders.reports.customers import PoolConfig, compute_pool
from orders.reports.models import CustomerPoolRow, PoolSize
from orders.reports.pool import POOL_CONFIG, load_frames, rebuild, sweep_pool
from tests.factories import canon

NOW = datetime(2026, 1, 22, 2, 0, tzinfo=UTC)
STEADY, ERRATIC, MIGRANT, LONE = "13900000001", "13900000002", "13900000003", "13900000004"


def _order(oid: str, phone: str, days_ago: float, channel: str = "taobao", paid: str = "100.00",
           **kw: Any) -> CanonOrder:
    at = (NOW - timedelta(days=days_ago)).isoformat()
    return CanonOrder.model_validate(canon(
        oid, channel=channel, phone=phone, created_at=at, paid_at=at, goods_total=paid, discounts=[],
        items=[{"sku": "TQ-WZ-S", "name": "袜子", "qty": 1, "price": paid}], paid=paid, **kw))


def buyers_fixture() -> list[CanonOrder]:
    return [
        # a steady monthly buyer: gaps 30 and 30 days
        *[_order(f"S{i}", STEADY, d) for i, d in enumerate((61, 31, 1))],
        # an erratic one: gaps 2, 48, 28 days
        *[_order(f"E{i}", ERRATIC, d) for i, d in enumerate((80, 78, 30, 2))],
        # Taobao → Douyin
        _order("M1", MIGRANT, 60), _order("M2", MIGRANT, 40), _order("M3", MIGRANT, 5, channel="douyin"),
        # no phone: matched by the platform buyer id (two orders, one buyer)
        _order("N1", "", 20, buyer_id="tb_nick_a", paid="40.00"),
        _order("N2", "", 10, buyer_id="tb_nick_a", paid="40.00"),
        # a one-off buyer, and an order too old for the window
        _order("L1", LONE, 70, paid="20.00"), _order("OLD", LONE, 120, paid="999.00"),
    ]


async def _load(app: App, orders: list[CanonOrder]) -> None:
    async with app.db.session() as s:
        await s.execute(delete(Order))
    await Importer(app.db, app.clock, app.workflows, app.settings.tz).import_orders(orders)


async def _pool(app: App) -> dict[str, CustomerPoolRow]:
    async with app.db.session() as s:
        return {r.buyer_key: r for r in (await s.scalars(select(CustomerPoolRow))).all()}


async def test_buyers_matched_and_measured(app: App) -> None:
    await _load(app, buyers_fixture())
    built = await rebuild(app)
    assert built is not None and built.buyers == 5
    pool = await _pool(app)
    steady, erratic = pool[hash_phone(STEADY)], pool[hash_phone(ERRATIC)]
    assert steady.orders == 3 and steady.amount_fen == 30_000
    assert steady.interval_std_days == pytest.approx(0, abs=1e-6) and steady.interval_cv == pytest.approx(0, abs=1e-6)
    # gaps 2, 48, 28: mean 26, population std sqrt(354.67) = 18.83
    assert erratic.interval_std_days == pytest.approx(18.833, abs=1e-3)
    assert erratic.interval_cv == pytest.approx(18.833 / 26, abs=1e-3)
    assert erratic.recency_days == pytest.approx(2, abs=1e-6)
    migrant = pool[hash_phone(MIGRANT)]
    assert (migrant.channel_from, migrant.channel_to, migrant.channels) == ("taobao", "douyin", "douyin,taobao")
    assert migrant.interval_cv is not None  # two gaps: 20 and 35 days
    assert steady.channel_from == "" and steady.channel_to == ""
    nick = pool["id:" + hash_buyer_id("taobao", "tb_nick_a")]
    assert nick.orders == 2 and nick.interval_std_days is None  # one gap: stability needs two
    lone = pool[hash_phone(LONE)]
    assert lone.orders == 1 and lone.amount_fen == 2_000  # the 120-day-old order is outside the window
    # nothing personal in the pool table: keys are hashes, no phone digits anywhere
    assert all(STEADY not in k and len(k.removeprefix("id:")) == 64 for k in pool)
    # RFM against the means (recency 17.6 d, orders 2.6, amount 220 yuan)
    assert steady.segment == "重要价值" and erratic.segment == "重要价值"
    assert lone.segment == "一般挽留" and nick.segment == "一般发展"
    assert migrant.segment == "重要价值"
    assert {k for k, r in pool.items() if r.high_potential} == {hash_phone(STEADY), hash_phone(ERRATIC),
                                                                 hash_phone(MIGRANT)}


def test_tolerance_with_and_without_complaints() -> None:
    orders = pd.DataFrame({"oid": [1, 2, 3, 4], "channel": ["taobao"] * 4,
                           "phone_hash": ["a", "a", "b", "c"], "buyer_id_hash": [""] * 4,
                           "at": ["2026-01-01T00:00:00", "2026-01-10T00:00:00", "2026-01-05T00:00:00",
                                  "2026-01-06T00:00:00"], "fen": [100, 100, 100, 100]})
    cases = pd.DataFrame({"order_id": [1, 2, 3, 3], "status": ["approved", "rejected", "approved", "open"],
                          "reason": ["尺码不合适", "质量太差，要去投诉", "发错颜色", "再次退款"],
                          "reject_reason": ["", "", "", ""]})
    pool = compute_pool(orders, cases, NOW, PoolConfig(complaint_words=("投诉", "12315")))
    assert pool.loc["a", "cases"] == 2 and pool.loc["a", "tolerance"] == pytest.approx(0.5)
    assert pool.loc["b", "tolerance"] == pytest.approx(0.5)  # an open case is not closed without complaint
    assert pool.loc["c", "cases"] == 0 and pd.isna(pool.loc["c", "tolerance"])
    no_words = compute_pool(orders, cases, NOW, PoolConfig(complaint_words=()))
    assert no_words.loc["a", "tolerance"] == pytest.approx(1.0)


async def test_tolerance_from_real_cases_and_complaints(bot: ChatBot, app: App) -> None:
    await _load(app, buyers_fixture())
    async with app.db.session() as s:
        q = select(Order.channel_order_id, Order.order_no).where(Order.channel_order_id.in_(["S1", "S2", "E1"]))
        nos = {r.channel_order_id: r.order_no for r in (await s.execute(q)).all()}
    for oid in ("S1", "S2", "E1"):
        assert "售后单" in await bot.say("cs01", f"售后 {nos[oid]} 退款 10 尺码不合适")
    async with app.db.session() as s:
        cases = (await s.scalars(select(AfterSalesCase.case_no).order_by(AfterSalesCase.id))).all()
    for case_no in cases:
        await bot.say("fin01", f"驳回 {case_no} 不符合退款条件")
    assert "已记录" in await bot.say("cs01", f"投诉 {nos['S2']} 破损 外箱压坏")
    await rebuild(app)
    pool = await _pool(app)
    steady, erratic = pool[hash_phone(STEADY)], pool[hash_phone(ERRATIC)]
    assert steady.cases == 2 and steady.tolerance == pytest.approx(0.5)  # the 投诉 order's case is a complaint
    assert erratic.cases == 1 and erratic.tolerance == pytest.approx(1.0)
    assert pool[hash_phone(MIGRANT)].cases == 0 and pool[hash_phone(MIGRANT)].tolerance is None


async def test_segment_thresholds_from_yaml(app: App, tmp_path: Path) -> None:
    await _load(app, buyers_fixture())
    conf = tmp_path / "conf"
    conf.mkdir()
    data = app.config.load("customers")
    data["rfm"] = {"compare": "fixed", "recency_days": 1.5, "orders": 3, "amount": "300"}
    data["high_potential"] = {"min_orders": 3, "max_interval_cv": 0.5}
    (conf / "customers.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    object.__setattr__(app.config, "override", conf)
    app._services.pop(POOL_CONFIG, None)
    await rebuild(app)
    pool = await _pool(app)
    assert pool[hash_phone(STEADY)].segment == "重要价值"  # 1 day ago, 3 orders, 300 yuan
    assert pool[hash_phone(ERRATIC)].segment == "重要保持"  # last order 2 days ago: recency low
    assert pool[hash_phone(LONE)].segment == "一般挽留"
    # erratic: CV 0.72 > 0.5
    assert {k for k, r in pool.items() if r.high_potential} == {hash_phone(STEADY), hash_phone(MIGRANT)}
    with pytest.raises(ValueError, match=r"rfm\.compare must be mean or fixed"):
        PoolConfig.from_dict({"rfm": {"compare": "median"}})


async def test_chat_sizes_movement_and_top(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await _load(app, buyers_fixture())
    first = await bot.say("ops01", "客户池")  # never built: built now
    assert "共 5 位客户" in first and "· 重要价值：3" in first and "· 高潜留存：3" in first
    assert "还没有一周前的客户池" in first
    async with app.db.session() as s:  # as if last week's build had fewer valuable buyers
        s.add(PoolSize(day="2026-01-15", segment="重要价值", n=1))
    reply = await bot.say("boss", "客户池")
    assert "· 重要价值：3（较上周 +2）" in reply and "· 一般挽留：1（较上周 +1）" in reply
    top = await bot.say("boss", "客户池 高潜留存")
    assert top.startswith("高潜留存 TOP 3（按金额）")
    assert "139****0001" in top and "13900000001" not in top and "张**" in top and "张三丰" not in top
    assert "迁移 淘宝→抖音" in top
    assert "没有客户分群「忠诚」" in await bot.say("ops01", "客户池 忠诚")
    assert "您的角色不能使用「客户池」" in await bot.say("cs01", "客户池")
    assert "客户池已重建：5 位客户" in await bot.say("ops01", "客户池 刷新")


async def test_nightly_sweep_builds_once_a_day(app: App, clock: ManualClock) -> None:
    await _load(app, buyers_fixture())
    clock.set(datetime(2026, 1, 22, 18, 0, tzinfo=UTC))  # 02:00 in Shanghai: before build_at 02:30
    assert not await sweep_pool(app)
    clock.advance(timedelta(minutes=30))
    assert await sweep_pool(app)
    assert not await sweep_pool(app)
    assert len(await _pool(app)) == 5
    async with app.db.session() as s:
        days = set((await s.scalars(select(PoolSize.day))).all())
    assert days == {"2026-01-23"}


async def test_frames_parse_times_from_the_database(app: App) -> None:
    await _load(app, buyers_fixture())
    async with app.db.session() as s:
        orders, cases = await load_frames(s, NOW - timedelta(days=90), PoolConfig())
    assert len(orders) == 13 and cases.empty
    assert set(orders["channel"]) == {"taobao", "douyin"}


def _cli(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"}
    return subprocess.run([sys.executable, "-m", "bot.cli", "export-customers", *args], capture_output=True,
                          text=True, env=env, timeout=120)


async def test_export_columns_and_masking(app: App, db_path: Path, tmp_path: Path) -> None:
    await _load(app, [*buyers_fixture(), _order("X1", "13900000009", 3, paid="900.00",
                                                buyer_name="=HYPERLINK(\"http://x\")")])
    await rebuild(app)  # at the test's clock; the command exports the pool as built
    out = tmp_path / "out.xlsx"
    # one order of 900 yuan, 3 days ago: recency and money high, frequency low
    run = await asyncio.to_thread(_cli, db_path, "--segment", "重要发展", "--out", str(out))
    assert run.returncode == 0, run.stderr
    ws = load_workbook(out).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("手机(脱敏)", "客户哈希", "平台昵称(脱敏)", "分群", "高潜留存", "订单数", "金额(元)",
                       "最近下单(天前)", "间隔标准差(天)", "间隔变异系数", "使用渠道", "渠道迁移", "售后单数",
                       "售后容忍度")
    assert rows[1][:8] == ("139****0009", hash_phone("13900000009"), "=" + "*" * 21, "重要发展", "否", 1, 900, 3)
    assert not any("13900000009" in str(c) or "HYPERLINK" in str(c) for r in rows for c in r)
    assert ws.cell(row=2, column=3).data_type == "s"  # a text cell, never a formula
    bad = await asyncio.to_thread(_cli, db_path, "--segment", "忠诚", "--out", str(out))
    assert bad.returncode == 2 and "unknown segment" in bad.stderr
