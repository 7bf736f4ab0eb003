"""The stored parcel facts stay right after each kind of change: carrier pushes (late, with an
earlier event time), 投诉, 售后 returns, platform refunds, address edits; a change that rolls
back leaves no fact; rows written around the ORM are caught up after a restart; the digest's
flags of a day are read back, not recomputed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, insert, select

from bot.testing import ChatBot
from config import load_settings
from notifications.region_digest import region_alerts_section
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.intake.models import CarrierPush
from orders.models import Order, TimelineEvent
from orders.reports.facts import FactsState, ParcelCarrier, ParcelFact, ParcelRegion, catch_up
from orders.reports.parcels import load_counts, load_facts
from orders.reports.region_config import RegionConfig
from orders.reports.region_flags import RegionFlagRow
from orders.reports.regions import Windows, _names, build, region_report, summarise
from tests.intake.test_carrier_track import client, push  # noqa: F401  (the HTTP fixture)
from tests.reports.region_data import county_case, write_parcels

NO = "BG260122-0001"
NUMBER = "YT7000000001"
BJ = ZoneInfo("Asia/Shanghai")
CFG = RegionConfig()


def bj(t: datetime) -> str:
    return f"{t.astimezone(BJ):%Y-%m-%d %H:%M:%S}"


def ts(t: datetime) -> int:
    return int(t.timestamp())


async def fact(app: App, no: str = NO) -> ParcelFact | None:
    async with app.db.session() as s:
        oid = await s.scalar(select(Order.id).where(Order.order_no == no))
        return await s.get(ParcelFact, oid)


async def to_picked(bot: ChatBot, no: str = NO) -> None:
    for _ in range(4):
        await bot.say("admin", f"推进 {no}")  # → 物流揽收


@pytest.fixture
async def picked(app: App, bot: ChatBot) -> AsyncIterator[None]:
    await to_picked(bot)
    await bot.say("wh01", f"运单 {NO} 圆通 {NUMBER}")
    yield


async def test_workflow_entry_until_the_carrier_speaks(app: App, bot: ChatBot, clock: ManualClock,
                                                       picked: None) -> None:
    f = await fact(app)
    assert f is not None and f.picked_at == ts(clock.now()) and not f.picked_by_carrier and f.signed_at is None
    async with app.db.session() as s:
        assert (await s.get(ParcelCarrier, f.carrier_id)).name == "圆通"  # type: ignore[union-attr]
        region = await s.get(ParcelRegion, f.region_id)
        order = await s.scalar(select(Order).where(Order.order_no == NO))
    assert region is not None and order is not None and region.province == order.province


async def test_late_push_with_an_earlier_event_time(app: App, bot: ChatBot, clock: ManualClock, picked: None,
                                                    client: TestClient) -> None:  # noqa: F811
    t0 = clock.now()
    clock.advance(timedelta(hours=5))  # the 揽收 push comes hours late, with the carrier's own time
    took = {"ftime": bj(t0 - timedelta(hours=1)), "context": "【揽投部】已揽收", "status": "揽收"}
    assert (await client.post("/intake/carrier/kuaidi100", data=push([took], "1", NUMBER))).status == 200
    f = await fact(app)
    assert f is not None and f.picked_at == ts(t0 - timedelta(hours=1)) and f.picked_by_carrier
    clock.advance(timedelta(days=2))  # the 签收 push, its track carrying an earlier 揽收 entry too
    track = [{"ftime": bj(t0 + timedelta(hours=30)), "context": "已签收", "status": "签收"},
             {"ftime": bj(t0 - timedelta(hours=2)), "context": "【网点】已揽收", "status": "揽收"}, took]
    assert (await client.post("/intake/carrier/kuaidi100", data=push(track, "3", NUMBER))).status == 200
    f = await fact(app)
    assert f is not None and f.picked_at == ts(t0 - timedelta(hours=2))
    assert f.signed_at == ts(t0 + timedelta(hours=30))  # not when the push came (t0 + 53 h)
    async with app.db.session() as s:
        facts = await load_facts(s, CFG, t0 - timedelta(days=1), clock.now())
    assert facts["signed_at"].iloc[0] - facts["picked_at"].iloc[0] == timedelta(hours=32)


async def test_unsigned_counts_from_the_carrier_pickup(app: App, bot: ChatBot, clock: ManualClock, picked: None,
                                                       client: TestClient) -> None:  # noqa: F811
    t0 = clock.now()
    took = {"ftime": bj(t0 - timedelta(hours=10)), "context": "已揽收", "status": "揽收"}
    await client.post("/intake/carrier/kuaidi100", data=push([took], "1", NUMBER))
    clock.advance(timedelta(hours=39))  # 49 h after the carrier's 揽收, 39 h after the workflow's
    out = await bot.say("cs01", f"查 {NO}")
    assert "超48小时未签收" in out and f"（{bj(t0 - timedelta(hours=10))[5:16]} 揽收）" in out


async def test_complaint_counted_in_the_same_transaction(app: App, bot: ChatBot, picked: None) -> None:
    await bot.say("cs01", f"投诉 {NO} 破损 外箱压坏")
    f = await fact(app)
    assert f is not None and f.complaints == 1


async def test_return_case_and_platform_refund(app: App, bot: ChatBot, clock: ManualClock, picked: None) -> None:
    await bot.say("admin", f"推进 {NO}")  # 签收确认
    await to_picked(bot, "BG260122-0002")
    await bot.say("admin", "推进 BG260122-0002")
    clock.advance(timedelta(hours=3))
    assert "已发起售后单" in await bot.say("cs01", f"售后 {NO} 退货 59.9 尺码不合适")
    async with app.db.session() as s:
        order = await s.scalar(select(Order).where(Order.order_no == "BG260122-0002"))
        assert order is not None
        order.platform_status = "退款成功"  # a platform refund after signing, as the pull writes it
    f = await fact(app, "BG260122-0002")
    assert f is not None and f.platform_status == "退款成功"
    cfg = replace(CFG, return_platform_statuses=("退款成功",), complaint_reason_words=("尺码",))
    async with app.db.session() as s:
        facts = await load_facts(s, cfg, clock.now() - timedelta(days=1), clock.now())
    assert facts["returned"].sum() == 2 and facts["complaints"].sum() == 1
    async with app.db.session() as s:  # regions.yaml without the refund status: not a return (read, not stored)
        facts = await load_facts(s, CFG, clock.now() - timedelta(days=1), clock.now())
    assert facts["returned"].sum() == 1 and facts["complaints"].sum() == 0


async def test_address_edit_moves_the_parcel(app: App, bot: ChatBot, picked: None) -> None:
    async with app.db.session() as s:
        order = await s.scalar(select(Order).where(Order.order_no == NO))
        assert order is not None
        order.province, order.city, order.district = "河南省", "周口市", "川汇区"
    f = await fact(app)
    async with app.db.session() as s:
        region = await s.get(ParcelRegion, f.region_id if f else 0)
    assert region is not None and (region.dist_code, region.city_code, region.prov_code) == (411602, 411600, 410000)


async def test_a_change_that_rolls_back_leaves_no_fact(app: App, bot: ChatBot, clock: ManualClock,
                                                       picked: None) -> None:
    before = await fact(app)
    assert before is not None
    with pytest.raises(RuntimeError):
        async with app.db.session() as s:
            oid = await s.scalar(select(Order.id).where(Order.order_no == NO))
            s.add(CarrierPush(carrier="kuaidi100", number=NUMBER, state="1", event_time="2026-01-21 08:00:00",
                              order_id=oid, outcome="ignored", received_at=clock.now()))
            await s.flush()
            raise RuntimeError("crash after the push, before commit")
    after = await fact(app)
    assert after is not None and after.picked_at == before.picked_at and not after.picked_by_carrier


async def test_bulk_rows_caught_up_after_a_restart(app: App, clock: ManualClock, tmp_path: object) -> None:
    n = await write_parcels(app, county_case(), clock.now())  # Core inserts: no hook saw them
    async with app.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(ParcelFact)) == 0
    await app.close()  # the process dies before any catch-up ran
    again = await build_app(load_settings(database_url=app.settings.database_url,
                                          data_dir=app.settings.data_dir), clock=clock)
    try:
        async with again.db.session() as s:
            rep = await region_report(s, CFG, clock.now())
            assert await s.scalar(select(func.count()).select_from(ParcelFact)) > n * 0.8
            assert await s.scalar(select(FactsState.value)) is not None
            assert await (await s.connection()).run_sync(catch_up) == 0  # nothing twice
        assert any(f.name == "河南省周口市川汇区" for f in rep.flags)
    finally:
        await again.close()


async def test_digest_reads_yesterdays_flags_as_stored(app: App, clock: ManualClock) -> None:
    await write_parcels(app, county_case(), clock.now())
    first = await region_alerts_section(app, clock.now())  # yesterday not stored: worked out from the data
    assert "持续：" in first and "河南省周口市川汇区·快驿达·退货率" in first
    async with app.db.session() as s:
        keys = set((await s.scalars(select(RegionFlagRow.key))).all())
    assert "*" in keys and "district:411602:快驿达:returns" in keys
    clock.advance(timedelta(days=1))
    second = await region_alerts_section(app, clock.now())
    assert "持续：" in second and "河南省周口市川汇区·快驿达·退货率" in second
    async with app.db.session() as s:  # say yesterday's digest had flagged nothing
        day = f"{clock.now().astimezone(BJ) - timedelta(days=1):%Y-%m-%d}"
        for row in (await s.scalars(select(RegionFlagRow).where(RegionFlagRow.day == day,
                                                                RegionFlagRow.key != "*"))).all():
            await s.delete(row)
    clock.advance(timedelta(hours=1))
    again = await region_alerts_section(app, clock.now())
    assert "🆕 河南省周口市川汇区 · 快驿达 · 退货率" in again and "持续" not in again


def test_epoch_seconds_are_utc() -> None:
    assert ts(datetime(2026, 1, 22, 2, 0, tzinfo=UTC)) == 1769047200


async def test_an_entry_committed_after_a_higher_id_is_not_missed(app: App, clock: ManualClock) -> None:
    """PostgreSQL hands out ids before commit: id 105 may commit after 110 was read."""
    async with app.db.session() as s:
        o1, o2 = (await s.scalars(select(Order.id).order_by(Order.id).limit(2))).all()
        top = int(await s.scalar(select(func.max(TimelineEvent.id))) or 0)

        def entry(i: int, oid: int) -> dict[str, object]:
            return dict(id=i, order_id=oid, at=clock.now(), actor="system", source="system", kind="state_changed",
                        from_state="打包完成", to_state="物流揽收", detail={})

        await s.execute(insert(TimelineEvent), [entry(top + 10, o1)])
        assert await (await s.connection()).run_sync(catch_up) == 1
        assert await s.scalar(select(FactsState.value)) == top + 10
    async with app.db.session() as s:
        await s.execute(insert(TimelineEvent), [entry(top + 5, o2)])  # the slower writer commits now
    async with app.db.session() as s:
        assert await (await s.connection()).run_sync(catch_up) == 1
        assert await s.get(ParcelFact, o2) is not None
        assert await (await s.connection()).run_sync(catch_up) == 0


async def test_counts_in_the_database_match_the_per_parcel_build(app: App, bot: ChatBot, clock: ManualClock) -> None:
    await write_parcels(app, county_case(), clock.now())
    await to_picked(bot)
    await bot.say("cs01", f"投诉 {NO} 破损")
    cfg = replace(CFG, return_platform_statuses=("退款成功",), complaint_reason_words=("尺码",))
    async with app.db.session() as s:
        facts = await load_facts(s, cfg, Windows.of(cfg, clock.now()).base_start, clock.now())
        counts = await load_counts(s, cfg, clock.now())
    assert int(counts["parcels"].sum()) == len(facts) and int(counts["comp"].sum()) == facts["complaints"].sum() > 190
    one, other = build(facts, cfg, clock.now()), summarise(counts, _names(counts), cfg, clock.now())
    key = ["level", "code", "carrier"]
    a = one.table.sort_values(key).reset_index(drop=True)
    b = other.table.sort_values(key).reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a.astype({"carrier": str}), b.astype({"carrier": str}), check_dtype=False)
    assert [f.key for f in one.flags] == [f.key for f in other.flags] and one.national == other.national
