"""The demo's flows under way, made by the real services on top of the bulk history
(orders/seed.py): today's orders dispatched to the on-duty temps, parcels picked up, signed and
lost by carrier scans, after-sales cases at every step (one past its deadline), an open voice
exception report with its audio kept, evidence, and the returned parcels of the region spike."""

from __future__ import annotations

import functools
import hashlib
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from orders.aftersales.cases import AfterSalesService
from orders.aftersales.chains import ApprovalConfig
from orders.app import WAREHOUSE, App
from orders.clock import ManualClock
from orders.files import keep
from orders.intake.carriers.apply import apply_event
from orders.intake.carriers.kuaidi100 import CARRIER_TZ, Kuaidi100
from orders.models import Order
from orders.service import Actor, OrderService
from orders.users import get_user
from orders.warehouse.evidence import attach
from orders.warehouse.exception_reports import Heard, record_report
from orders.warehouse.models import MANUAL, WarehouseTask

SAMPLE_AUDIO = Path(__file__).resolve().parents[1] / "stt" / "samples" / "sample_zh.amr"
# A 1x1 PNG: the photo a customer sent of a returned parcel.
PHOTO = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8"
                      "cfc0f01f0005000201e2d5d0d80000000049454e44ae426082")
CS = Actor("cs01", "李客服", ("cs",), "chat")
CS2 = Actor("cs02", "王客服", ("cs",), "chat")
WH = Actor("wh01", "孙仓管", ("warehouse",), "button")
FIN = Actor("fin01", "吴财务", ("finance",), "button")
LEAD = Actor("cslead", "赵组长", ("cs_lead",), "button")
TEMP2 = Actor("temp02", "周临时", ("warehouse_temp",), "button")
RETURN_REASONS = ("包裹破损，外箱压坏", "衣服有污渍", "与描述不符，颜色偏差大", "质量问题，开线")


class _Cases(AfterSalesService):
    """The after-sales service reading approvals.yaml once (the seed opens many cases)."""

    @functools.cached_property
    def _config(self) -> ApprovalConfig:
        return super().config()

    def config(self) -> ApprovalConfig:
        return self._config


class Past:
    """The real services on a clock set to a moment in the past (the demo's history)."""

    def __init__(self, app: App) -> None:
        self.clock = ManualClock(app.clock.now())
        self.orders = OrderService(app.db, self.clock, app.workflows, app.roles)
        self.cases = _Cases(self.orders, app.config, app.settings.tz, warehouse=app[WAREHOUSE])

    def at(self, when: datetime) -> Past:
        self.clock.set(when)
        return self


async def _numbers(app: App, ids: list[int]) -> dict[int, str]:
    async with app.db.session() as s:
        return dict((await s.execute(select(Order.id, Order.order_no).where(Order.id.in_(ids)))).all())


async def run_flows(app: App, plan: object) -> None:
    from orders.seed import SECOND, SHOWCASE, Plan

    assert isinstance(plan, Plan)
    now = app.clock.now()
    nos = await _numbers(app, [*plan.today, *plan.packed, *plan.signed, *(i for i, _ in plan.returns)])
    today = sorted(plan.today)[:6]
    today = today[:len(today) - len(today) % 2]  # even: the showcase order goes to temp01 (round robin)
    for oid in today:  # the on-duty temps get them, round robin (the auto-assignment hook)
        await app.orders.advance(nos[oid], CS, "仓库分单")
    await app.orders.advance(SHOWCASE, CS, "仓库分单")  # last: the newest card on temp01's wall
    await app.orders.advance(SECOND, CS, "仓库分单")  # to temp02
    if len(today) > 1:
        await _picking_with_report(app, nos[today[1]], now)
    await _carrier_scans(app, [nos[i] for i in plan.packed[:3]], now)
    await _cases(app, [nos[i] for i in plan.signed], now)
    await _returns(app, [(nos[i], at) for i, at in plan.returns], now)


async def _picking_with_report(app: App, order_no: str, now: datetime) -> None:
    """temp02 scanned this order (拣货中) and reported it damaged by voice: the audio is kept, no
    speech model transcribed it (待人工转写), the warehouse lead was told."""
    past = Past(app).at(now - timedelta(minutes=25))
    await past.orders.advance(order_no, TEMP2, "拣货中")
    data = SAMPLE_AUDIO.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    at = now - timedelta(minutes=12)
    path = app.settings.data_dir / "voice" / at.strftime("%Y%m%d") / f"{sha}.amr"
    keep(path, data)
    async with app.db.session() as s:
        order = await s.scalar(select(Order).where(Order.order_no == order_no))
        task = await s.scalar(select(WarehouseTask).where(WarehouseTask.order_id == order.id)) if order else None
        reporter = await get_user(s, "temp02")
        if order is None or task is None or reporter is None:
            return
        task.state, task.picked_at = "picking", now - timedelta(minutes=25)
        other = str(app.config.load("exceptions").get("other", "其他"))
        heard = Heard(kind=other, transcript="", status=MANUAL, problem="语音识别暂不可用", media_id="demo-voice-1",
                      audio_path=str(path), audio_sha256=sha, seconds=None)
        await record_report(s, reporter=reporter, order=order, heard=heard, now=at, wh=app[WAREHOUSE])


def _push(company: str, number: str, code: int, track: list[tuple[str, str, str, str]]) -> dict[str, str]:
    """A Kuaidi100 push form (resultv2 track entries, newest first, Beijing time), unsigned."""
    data = [{"time": tm, "ftime": tm, "context": context, "areaName": place, "status": status}
            for tm, place, status, context in reversed(track)]
    return {"param": json.dumps({"status": "polling", "lastResult": {
        "message": "ok", "nu": number, "com": company, "state": str(code), "ischeck": "1" if code == 3 else "0",
        "data": data}}, ensure_ascii=False)}


async def _carrier_scans(app: App, packed: list[str], now: datetime) -> None:
    """Yesterday's packed orders: one picked up, one picked up and signed, one lost (疑难件). Each
    push carries the parcel's track so far and goes the way a real one does (parse, apply_event)."""
    past = Past(app)
    picked = ("浙江,杭州市,西湖区", "揽收", "【杭州西湖区文三路】快件已揽收")
    plans = [("中通", "zhongtong", "73123456789012", [(1, 5, picked)]),
             ("圆通", "yuantong", "YT7712345678901",
              [(1, 26, picked), (3, 2, ("", "签收", "快件已签收，签收人：本人，如有疑问请联系派件员"))]),
             ("顺丰", "shunfeng", "SF1402345678906",
              [(1, 20, picked), (2, 3, ("浙江,杭州市", "疑难", "快件丢失，网点正在核实"))])]
    for order_no, (carrier, company, number, scans) in zip(packed, plans, strict=False):
        first = now - timedelta(hours=scans[0][1] + 1)
        await past.at(first).orders.add_tracking(order_no, WH, carrier, number)
        track: list[tuple[str, str, str, str]] = []
        for code, hours_ago, entry in scans:
            at = now - timedelta(hours=hours_ago)
            track.append((at.astimezone(CARRIER_TZ).strftime("%Y-%m-%d %H:%M:%S"), *entry))
            await apply_event(past.at(at).orders, Kuaidi100().parse(_push(company, number, code, track)))


async def _cases(app: App, signed: list[str], now: datetime) -> None:
    """After-sales cases at every step (config/approvals.yaml chains for shipped orders): waiting
    for the warehouse (photo in), for finance, approved (with a replacement shipment), rejected;
    the one on signed[5] is past its deadline."""
    if len(signed) < 8:
        return
    p = Past(app)
    h, m = timedelta(hours=1), timedelta(minutes=1)
    photo = PhotoAt(app)

    async def case(i: int, who: Actor, kind: str, rest: str, at: datetime) -> str:
        c = await p.at(at).cases.open_case(signed[i], who, p.cases.parse(kind, rest, ""))
        return c.case_no

    await case(0, CS, "退货", "全额 尺码偏小，买家已寄回", now - 50 * m)  # at 仓管确认实物入库
    await photo(signed[0], now - 45 * m)
    no = await case(1, CS, "退款", "30 少发一双袜子", now - 26 * h)
    await p.at(now - 2 * h).cases.decide(no, LEAD, approve=True)  # at 财务核对
    no = await case(2, CS2, "换货", "尺码不合适，换130cm", now - 72 * h)
    await photo(signed[2], now - 61 * h)
    await p.at(now - 60 * h).cases.decide(no, WH, approve=True)  # approved: a replacement shipment
    no = await case(3, CS, "退款", "全额 不想要了", now - 48 * h)
    await p.at(now - 40 * h).cases.decide(no, LEAD, approve=False, reason="商品已穿着，不符合退款条件")
    await case(4, CS2, "补偿", "20 物流延误", now - 3 * h)  # 补偿 goes straight to 财务
    await case(5, CS2, "退货", "全额 发错颜色，买家要求退货", now - 30 * h)  # past its deadline
    await case(7, CS, "退款", "15 少一双袜子，买家要求退差价", now - 40 * m)  # at 客服组长审核
    no = await case(6, CS, "退货", "全额 发错尺码", now - 50 * h)
    await photo(signed[6], now - 46 * h)
    await p.at(now - 45 * h).cases.decide(no, WH, approve=True)
    await p.at(now - 44 * h).cases.decide(no, FIN, approve=True)


class PhotoAt:
    """A customer's photo kept as evidence on an order at a past moment."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.clock = ManualClock(app.clock.now())

    async def __call__(self, order_no: str, at: datetime) -> None:
        self.clock.set(at)
        await attach(self.app.db, self.clock, self.app.settings.data_dir, await _id(self.app, order_no),
                     PHOTO, actor="cs01", actor_name="李客服", source="chat")


async def _id(app: App, order_no: str) -> int:
    async with app.db.session() as s:
        return int(await s.scalar(select(Order.id).where(Order.order_no == order_no)) or 0)


async def _returns(app: App, signed: list[tuple[str, datetime]], now: datetime) -> None:
    """The region's signed parcels that came back (a 退货 case, approved): ~24 % of the local
    carrier's parcels in the last two weeks, ~3 % before and with the other carrier."""
    rnd = random.Random(24)
    p, photo = Past(app), PhotoAt(app)
    for order_no, at in signed:
        times = [at]
        for _ in range(3):
            times.append(times[-1] + timedelta(hours=rnd.uniform(6, 30)))
        times = times[1:]
        if times[-1] > now - timedelta(minutes=30):
            continue
        req = p.cases.parse("退货", f"全额 {rnd.choice(RETURN_REASONS)}", "")
        c = await p.at(times[0]).cases.open_case(order_no, CS, req)
        await photo(order_no, times[1] - timedelta(minutes=20))
        await p.at(times[1]).cases.decide(c.case_no, WH, approve=True)
        await p.at(times[2]).cases.decide(c.case_no, FIN, approve=True)
