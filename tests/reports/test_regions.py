"""Region fulfilment health: the county case flags, the small city does not, drill-down, the map,
the digest section, 投诉 and the 48-hour follow-up — all on real rows in a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.testing import ChatBot
from notifications.chart import missing_glyphs
from notifications.region_digest import alerts_text, region_alerts_section, sweep_unsigned_orders
from notifications.region_map import TAIWAN, render_region_map, shapes
from orders.aftersales.complaints import Complaint
from orders.app import App
from orders.clock import ManualClock
from orders.intake.models import CarrierPush
from orders.models import TimelineEvent
from orders.reports.parcels import load_facts
from orders.reports.region_config import RegionConfig
from orders.reports.regions import Flag, region_report, resolve_place
from tests.aftersales.helpers import outbox
from tests.reports.region_data import COUNTY, NORMAL, Batch, county_case, write_parcels

CFG = RegionConfig()


async def _report(app: App, clock: ManualClock):  # type: ignore[no-untyped-def]
    async with app.db.session() as s:
        return await region_report(s, CFG, clock.now(), app.settings.tz)


async def test_county_return_spike_is_flagged_and_small_city_is_not(app: App, clock: ManualClock) -> None:
    await write_parcels(app, county_case(), clock.now())
    rep = await _report(app, clock)
    county = [f for f in rep.flags if f.level == "district" and f.metric == "returns"]
    assert [(f.name, f.carrier) for f in county] == [("河南省周口市川汇区", "快驿达")]
    f = county[0]
    assert 0.18 < f.rate < 0.30 and 0.01 < f.base_rate < 0.06 and f.n > 200
    assert "基线" in f.line() and "快驿达" in f.line()
    assert not any(fl.carrier == "中通" for fl in rep.flags)  # the same county's other carrier is fine
    assert not any("南京" in fl.name for fl in rep.flags)  # 2 returns of 5: 样本不足, never flagged
    nanjing = rep.values("returns", "city", 320000)
    assert nanjing[320100] == (None, 5)


async def test_region_command_lists_flags_and_drills_down(app: App, bot: ChatBot, clock: ManualClock) -> None:
    await write_parcels(app, county_case(), clock.now())
    replies = await bot.replies("boss", "区域")
    text = replies[0].text
    assert "🚩 预警" in text and "河南省周口市川汇区 · 快驿达 · 退货率" in text
    assert "口径：退货率 = 退货的包裹 ÷ 已签收的包裹" in text
    png = replies[1].image
    assert png is not None and png.startswith(b"\x89PNG") and len(png) < 1_000_000
    henan = await bot.replies("ops01", "区域 河南省")
    assert "河南省各市（退货率）" in henan[0].text and "· 周口市" in henan[0].text
    assert "南京" not in henan[0].text
    zk = (await bot.replies("cslead", "区域 周口市"))[0].text
    assert "周口市各区县" in zk and "· 川汇区" in zk
    js = (await bot.replies("boss", "区域 江苏 退货率"))[0].text
    assert "· 南京市 样本不足（n=5）" in js
    sign = (await bot.replies("boss", "区域 签收率"))[0].text
    assert "48小时签收率 = 48小时内签收的包裹 ÷ 揽收已满48小时的包裹" in sign


async def test_region_command_refusals(app: App, bot: ChatBot) -> None:
    assert "无法识别地区" in await bot.say("boss", "区域 火星基地")
    assert "用法" in await bot.say("boss", "区域 河南 周口 退货率")
    assert "不能使用「区域」" in await bot.say("cs01", "区域")
    assert "无预警" in await bot.say("boss", "区域")  # no data: a clear answer, not an error


def test_places_resolve_as_typed() -> None:
    assert resolve_place("河南省") is not None and resolve_place("河南省").code == 410000  # type: ignore[union-attr]
    zk = resolve_place("周口市")
    assert zk is not None and (zk.level, zk.code) == ("city", 411600)
    sh = resolve_place("上海")
    assert sh is not None and (sh.level, sh.code) == ("province", 310000)


def test_map_uses_real_boundaries_and_the_font_has_the_glyphs() -> None:
    codes, _, _, _ = shapes("province")
    assert len(codes) == 34 and TAIWAN in codes
    title = "全国 退货率（近30天）"
    png = render_region_map({410000: (0.24, 300), 330000: (0.03, 900), 320000: (None, 5)}, level="province",
                            parent=None, title=title, note="退货率 = 退货的包裹 ÷ 已签收的包裹",
                            fmt=lambda v: f"{v:.1%}")
    assert png.startswith(b"\x89PNG") and 20_000 < len(png) < 1_000_000
    assert missing_glyphs(title + "台湾省资料暂缺南海诸岛样本不足无数据退货的包裹÷已签收") == set()
    cities = render_region_map({411600: (0.2, 300)}, level="city", parent=410000, title="河南省", note="",
                               fmt=lambda v: f"{v:.1%}")
    assert cities.startswith(b"\x89PNG") and len(cities) < 1_000_000


def _flag(name: str, code: int) -> Flag:
    return Flag("district", code, name, "快驿达", "returns", 0.24, 0.03, 0.03, 72, 300, 0.1)


def test_digest_section_lists_new_flags_and_marks_repeats() -> None:
    old, new = _flag("河南省周口市川汇区", 411602), _flag("河南省郑州市金水区", 410105)
    text = alerts_text([old, new], {old.key}, top=10)
    assert "🆕 河南省郑州市金水区" in text and "🆕 河南省周口市川汇区" not in text
    assert "持续：河南省周口市川汇区·快驿达·退货率" in text
    assert text.count("川汇区") == 1
    assert "无" in alerts_text([], {old.key}, top=10)


async def test_digest_section_from_real_rows(app: App, clock: ManualClock) -> None:
    await write_parcels(app, county_case(), clock.now())
    text = await region_alerts_section(app, clock.now())
    assert text.startswith("## 区域预警") and "持续：" in text and "川汇区·快驿达·退货率" in text


async def test_digest_section_a_flag_raised_today_is_new(app: App, clock: ManualClock) -> None:
    batches = [Batch(r, "中通", 500, 15, (31, 85)) for r in NORMAL]
    batches += [Batch(r, "中通", 400, 12, (1, 29)) for r in NORMAL]
    batches += [Batch(COUNTY, "快驿达", 300, 9, (31, 85)), Batch(COUNTY, "快驿达", 300, 72, (0.9, 0.99))]
    await write_parcels(app, batches, clock.now())
    text = await region_alerts_section(app, clock.now())
    assert "🆕 河南省周口市川汇区 · 快驿达 · 退货率" in text and "持续" not in text


async def test_carrier_event_time_wins_over_push_arrival(app: App, clock: ManualClock) -> None:
    now = clock.now()
    await write_parcels(app, [Batch(("浙江省", "杭州市", "西湖区"), "顺丰", 1, 0, (3, 3))], now)
    async with app.db.session() as s:
        oid = await s.scalar(select(TimelineEvent.order_id).where(TimelineEvent.to_state == "物流揽收"))
        s.add(CarrierPush(carrier="kuaidi100", number="N1", state="103", event_time="2026-01-18 08:00:00",
                          order_id=oid, outcome="moved", received_at=now))
        s.add(CarrierPush(carrier="kuaidi100", number="N1", state="301", event_time="2026-01-19 09:30:00",
                          order_id=oid, outcome="moved", received_at=now))
    async with app.db.session() as s:
        facts = await load_facts(s, CFG, now - timedelta(days=30), now)
    row = facts.iloc[0]
    assert str(row["picked_at"]) == "2026-01-18 00:00:00+00:00"  # 08:00 Shanghai, not when it arrived
    assert str(row["signed_at"]) == "2026-01-19 01:30:00+00:00"
    assert (row["prov_code"], row["city_code"], row["dist_code"]) == (330000, 330100, 330106)
    assert row["carrier"] == "顺丰"


async def test_complaint_is_recorded_and_counted(app: App, bot: ChatBot, clock: ManualClock) -> None:
    out = await bot.say("cs01", "投诉 BG260122-0001 破损 外箱压坏")
    assert "已记录订单 BG260122-0001 的投诉：破损（外箱压坏）" in out
    assert "投诉" in await bot.say("cs01", "轨迹 BG260122-0001")
    bad = await bot.say("cs01", "投诉 BG260122-0001 难看 很丑")
    assert "投诉类型「难看」不对" in bad and "破损" in bad
    assert "用法" in await bot.say("cslead", "投诉 BG260122-0001")
    assert "没有找到订单" in await bot.say("cs01", "投诉 BG999999-9999 破损")
    await bot.say("wh01", "投诉 BG260122-0001 破损")  # warehouse may not
    async with app.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Complaint)) == 1
    for _ in range(4):
        await bot.say("admin", "推进 BG260122-0001")  # → 物流揽收
    async with app.db.session() as s:
        facts = await load_facts(s, CFG, clock.now() - timedelta(days=1), clock.now())
    assert facts["complaints"].max() == 1


async def test_unsigned_after_48h_one_batched_message(app: App, bot: ChatBot, clock: ManualClock) -> None:
    for no in ("BG260122-0001", "BG260122-0002", "BG260122-0003"):
        for _ in range(4):
            await bot.say("admin", f"推进 {no}")  # → 物流揽收
    await bot.say("admin", "推进 BG260122-0003")  # signed
    clock.advance(timedelta(hours=47))
    assert await sweep_unsigned_orders(app) == []
    assert "超48小时未签收" not in await bot.say("cs01", "查 BG260122-0001")
    clock.advance(timedelta(hours=2))
    before = len(await outbox(app, "text"))
    assert await sweep_unsigned_orders(app) == ["BG260122-0001", "BG260122-0002"]
    sent = (await outbox(app, "text"))[before:]
    assert len(sent) == 1 and sent[0].target == "cslead"
    body = sent[0].payload["content"]
    assert "2 单揽收已超48小时仍未签收" in body and "BG260122-0001" in body and "BG260122-0003" not in body
    assert await sweep_unsigned_orders(app) == []  # once per order
    assert "超48小时未签收" in await bot.say("cs01", "查 BG260122-0001")
    assert "超48小时未签收" not in await bot.say("cs01", "查 BG260122-0003")
