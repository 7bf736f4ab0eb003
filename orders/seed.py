"""The demo data set: a children's-clothing shop on five channels, 30 days of orders with every
flow under way (orders/seed_flows.py). Deterministic: a seeded random, times relative to now.

Orders enter through the real importer (brushing and amount checks included); the history of
older orders (states, tracking numbers, carrier scans) is written in bulk, consistent with the
timeline; everything a demo user acts on is made by the real services (seed_flows)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update

from orders.app import WAREHOUSE, App
from orders.intake.brushing import BrushingRule
from orders.intake.bulk import insert_many
from orders.intake.canonical import CanonOrder
from orders.intake.importer import Importer, ImportReport
from orders.intake.models import CarrierPush
from orders.models import Order, OrderCounter, TimelineEvent, Tracking
from orders.users import upsert_user

DEMO_USERS = [
    ("cs01", "李客服", "客服部", ["cs"]), ("cs02", "王客服", "客服部", ["cs"]),
    ("cslead", "赵组长", "客服部", ["cs_lead"]), ("wh01", "孙仓管", "仓储部", ["warehouse"]),
    ("temp01", "钱临时", "仓储部", ["warehouse_temp"]), ("temp02", "周临时", "仓储部", ["warehouse_temp"]),
    ("fin01", "吴财务", "财务部", ["finance"]), ("ops01", "郑运营", "运营部", ["ops"]),
    ("boss", "陈总", "总经办", ["manager"]), ("admin", "管理员", "总部", ["admin"]),
]
# Department leads only the demo has (overdue warehouse / finance steps escalate to them). The
# tests' roster (DEMO_USERS) leaves them out: there, the default lead (cs_lead) is the baseline.
DEMO_LEADS = [("whlead", "冯主管", "仓储部", ["warehouse_lead"]), ("finlead", "韩主管", "财务部", ["finance_lead"])]
CHANNELS = {"taobao": "童趣旗舰店", "pdd": "童趣拼多多店", "douyin": "童趣抖音小店", "jd": "童趣京东自营",
            "wechat": "童趣微信小程序"}
PRODUCTS = [("TQ-YRF-120", "儿童羽绒服 120cm", "199.00"), ("TQ-WY-110", "加绒卫衣 110cm", "89.90"),
            ("TQ-KZ-130", "牛仔裤 130cm", "69.00"), ("TQ-TX-100", "纯棉T恤 100cm", "39.90"),
            ("TQ-WZ-S", "儿童袜子5双装", "29.90"), ("TQ-MZ-F", "针织帽", "35.00"),
            ("TQ-XZ-28", "运动鞋 28码", "129.00"), ("TQ-SY-140", "校服套装 140cm", "158.00")]
ADDRESSES = [("浙江省", "杭州市", "西湖区", "文三路100号"), ("广东省", "深圳市", "南山区", "科技园南路8号"),
             ("江苏省", "南京市", "鼓楼区", "中山北路30号"), ("四川省", "成都市", "武侯区", "人民南路四段12号"),
             ("上海市", "上海市", "浦东新区", "世纪大道1000号"), ("湖北省", "武汉市", "洪山区", "珞喻路152号")]
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
DISCOUNTS = [("coupon", "platform_coupon", "平台券", "platform"), ("red_packet", "shop_red_packet", "店铺红包", "shop"),
             ("full_reduction", "full_reduction", "满减", "shop")]
CARRIERS = {"中通": "7312", "圆通": "YT", "韵达": "4318", "顺丰": "SF"}  # name -> tracking number prefix
# The region with a return spike (issue: region health): one county, one local carrier.
REGION = ("河南省", "周口市", "郸城县", "城关镇育新街")
REGION_CARRIER, REGION_PREFIX = "极兔", "JT"
REGION_WINDOW, REGION_BASELINE = 180, 150  # parcels there in the last 30 days / the 8 weeks before
SHOWCASE = "BG260122-8812"  # the order every 帮助 example and the README use
SECOND = "BG260122-8813"  # the second one (分配's example names both)
AVOID = "8812"  # no other order, platform id or phone ends like the showcase order


def _digits(rnd: random.Random, n: int) -> str:
    while (s := f"{rnd.randint(10 ** (n - 1), 10 ** n - 1)}").endswith(AVOID):
        pass
    return s


def _phone(rnd: random.Random) -> str:
    return f"1{rnd.choice('3589')}{_digits(rnd, 9)}"


def _canon(rnd: random.Random, ch: str, created: datetime, **over: Any) -> CanonOrder:
    items, total = [], Decimal(0)
    for sku, name, price in rnd.sample(PRODUCTS, rnd.randint(1, 3)):
        qty = rnd.randint(1, 2)
        items.append({"sku": sku, "name": name, "qty": qty, "price": price})
        total += Decimal(price) * qty
    discounts: list[dict[str, Any]] = []
    for kind, src, label, who in rnd.sample(DISCOUNTS, rnd.randint(0, 2)):
        amt = min(Decimal(rnd.choice(["5", "10", "12.8", "20", "50"])), total / 4).quantize(Decimal("0.01"))
        discounts.append({"kind": kind, "source": src, "label": label, "amount": str(amt),
                          "offered_by": who, "borne_by": who})
    shipping = Decimal(rnd.choice(["0", "0", "0", "6"]))
    paid = total - sum(Decimal(d["amount"]) for d in discounts) + shipping
    p, c, d, street = rnd.choice(ADDRESSES)
    data: dict[str, Any] = {
        "channel": ch, "order_id": _digits(rnd, 16), "shop": CHANNELS[ch], "created_at": created.isoformat(),
        "paid_at": (created + timedelta(minutes=rnd.randint(0, 20))).isoformat(),
        "buyer_name": rnd.choice(SURNAMES) + rnd.choice(["小明", "女士", "先生", "丽", "伟"]), "phone": _phone(rnd),
        "address": {"province": p, "city": c, "district": d, "detail": f"{street}{rnd.randint(1, 30)}幢"},
        "items": items, "goods_total": str(total), "discounts": discounts, "shipping": str(shipping),
        "paid": str(paid), "owner": rnd.choice(["cs01", "cs02"]),
    }
    data.update(over)
    return CanonOrder.model_validate(data)


def demo_orders(n: int, now: datetime, seed: int = 7) -> list[CanonOrder]:
    """``n`` random orders over the 30 days before ``now`` (also used by the benches)."""
    rnd = random.Random(seed)
    return [_canon(rnd, rnd.choice(list(CHANNELS)), now - timedelta(days=30) + timedelta(
        seconds=rnd.randint(0, 30 * 86400 - 3600))) for _ in range(n)]


def showcase_orders(now: datetime) -> list[CanonOrder]:
    """BG260122-8812 (first, so it takes the number), repeat buyers across channels, a brushing
    pair and an amount mismatch."""
    rnd = random.Random(8812)
    addr = {"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路100号3幢"}
    hu = {"buyer_name": "胡女士", "phone": "18512343681",
          "address": {"province": "江苏省", "city": "苏州市", "district": "姑苏区", "detail": "人民路88号2单元"}}
    brush = {"buyer_name": "马先生", "phone": "13900060066",
             "items": [{"sku": "TQ-WZ-S", "name": "儿童袜子5双装", "qty": 1, "price": "29.90"}],
             "goods_total": "29.90", "discounts": [], "shipping": "0", "paid": "29.90"}
    return [
        CanonOrder.model_validate({
            "channel": "taobao", "order_id": "3968421047724458", "shop": CHANNELS["taobao"],
            "created_at": "2026-01-22T10:42:00+08:00", "paid_at": "2026-01-22T10:43:00+08:00",
            "buyer_name": "张三丰", "phone": "13812345678", "address": addr, "owner": "cs01",
            "items": [{"sku": "TQ-YRF-120", "name": "儿童羽绒服 120cm", "qty": 1, "price": "199.00"},
                      {"sku": "TQ-WY-110", "name": "加绒卫衣 110cm", "qty": 2, "price": "79.50"}],
            "goods_total": "358.00", "shipping": "3.30", "paid": "298.50", "note": "预售款：今日到货发出",
            "discounts": [{"kind": "coupon", "source": "coupon_fee", "label": "平台券", "amount": "50.00",
                           "offered_by": "platform", "borne_by": "platform"},
                          {"kind": "red_packet", "source": "shop_red_packet", "label": "店铺红包", "amount": "12.80",
                           "offered_by": "shop", "borne_by": "shop"}]}),
        _canon(rnd, "taobao", datetime.fromisoformat("2026-01-22T11:05:00+08:00"), order_id="3968421047725013",
               note="预售款：今日到货发出", owner="cs01"),
        _canon(rnd, "taobao", now - timedelta(days=24), **hu),
        _canon(rnd, "douyin", now - timedelta(days=9), **hu),
        _canon(rnd, "wechat", now - timedelta(days=2, hours=3), **hu),
        _canon(rnd, "pdd", now - timedelta(days=18), buyer_name="郭先生", phone="13698760066"),
        _canon(rnd, "jd", now - timedelta(days=3), buyer_name="郭先生", phone="13698760066"),
        _canon(rnd, "pdd", now - timedelta(minutes=70), order_id="240115009912001", **brush),
        _canon(rnd, "pdd", now - timedelta(minutes=66), order_id="240115009912002", **brush),
        _canon(rnd, "douyin", now - timedelta(days=6), paid="101.00", goods_total="100.00", shipping="0",
               discounts=[], items=[{"sku": "TQ-SY-140", "name": "校服套装 140cm", "qty": 1, "price": "100.00"}]),
    ]


def region_orders(now: datetime) -> list[CanonOrder]:
    """A few hundred parcels to one county in the last 30 days and as many in the 8 weeks before
    (the region report's baseline), mostly by the local carrier (chosen in _history)."""
    rnd = random.Random(17)
    out = []
    for i in range(REGION_WINDOW + REGION_BASELINE):
        recent = i < REGION_WINDOW
        created = now - timedelta(days=30 if recent else 86) + timedelta(seconds=rnd.randint(0, (27 if recent else 55)
                                                                                             * 86400))
        addr = {"province": REGION[0], "city": REGION[1], "district": REGION[2], "detail": f"{REGION[3]}{i % 40 + 1}号"}
        out.append(_canon(rnd, rnd.choice(["pdd", "douyin", "taobao"]), created, address=addr))
    return out


def baseline_orders(now: datetime) -> list[CanonOrder]:
    """The rest of the country in the 8 weeks before the last 30 days (the regions' baseline)."""
    rnd = random.Random(31)
    return [_canon(rnd, rnd.choice(list(CHANNELS)), now - timedelta(days=31, seconds=rnd.randint(0, 55 * 86400)))
            for _ in range(200)]


@dataclass
class Plan:
    """What the bulk history made, for the flows to pick from (order ids by role)."""

    today: list[int] = field(default_factory=list)
    packed: list[int] = field(default_factory=list)  # packed yesterday, waiting for the carrier
    signed: list[int] = field(default_factory=list)
    returns: list[tuple[int, datetime]] = field(default_factory=list)  # (id, signed at): parcels that came back
    late: list[int] = field(default_factory=list)
    showcase: dict[str, int] = field(default_factory=dict)


async def seed_demo(app: App, n: int = 2400) -> ImportReport | None:
    """Seed users and the demo (about ``n`` + 270 orders) if the database has no orders; None
    when it already had some (the demo users are refreshed either way)."""
    from orders.seed_flows import run_flows

    now = app.clock.now()
    async with app.db.session() as s:
        for uid, name, dept, rs in (*DEMO_USERS, *DEMO_LEADS):
            await upsert_user(s, app.roles, user_id=uid, name=name, roles=rs, department=dept, now=now)
        if await s.scalar(select(func.count()).select_from(Order)):
            return None
        if await s.get(OrderCounter, SHOWCASE[2:8]) is None:
            s.add(OrderCounter(day=SHOWCASE[2:8], last=int(SHOWCASE[-4:]) - 1))
    importer = Importer(app.db, app.clock, app.workflows, app.settings.tz, service=app.orders,
                        brushing_rule=BrushingRule(), warehouse=app[WAREHOUSE])
    shows, region = showcase_orders(now), region_orders(now)
    report = await importer.import_orders([*shows, *region, *baseline_orders(now), *demo_orders(n, now)])
    plan = await _history(app, now, {(o.channel, o.order_id) for o in shows}, {o.order_id for o in region})
    await run_flows(app, plan)
    return report


TODAY = timedelta(hours=16)  # orders paid since then are today's work: not dispatched yet
STEP_HOURS = {"仓库分单": (0.5, 4), "拣货中": (0.5, 5), "打包完成": (0.3, 2), "物流揽收": (2, 12),
              "签收确认": (12, 56), "售后关闭": (48, 200)}
ACTORS = {"仓库分单": ("cs01", "李客服"), "拣货中": ("temp01", "钱临时"), "打包完成": ("temp01", "钱临时"),
          "物流揽收": ("system", "系统"), "签收确认": ("system", "系统"), "售后关闭": ("system", "系统")}


async def _history(app: App, now: datetime, shows: set[tuple[str, str]], region: set[str]) -> Plan:
    """Move older orders along the workflow in bulk, with timeline rows, tracking numbers and the
    carrier's 揽收 / 签收 scans. Orders of today stay 支付成功 (the flows dispatch some); a few
    of yesterday's stay packed for the carrier; some shipped days ago are never signed (late)."""
    rnd = random.Random(11)
    plan = Plan()
    z = ZoneInfo(app.settings.tz)
    async with app.db.session() as s:
        wf = await app.workflows.current(s)
        names = wf.definition.names
        cancel = wf.definition.cancel.name if wf.definition.cancel else None
        rows = (await s.execute(select(Order.id, Order.order_no, Order.channel, Order.channel_order_id,
                                       Order.paid_at, Order.created_at, Order.province).order_by(Order.id))).all()
        events: list[dict[str, Any]] = []
        tracks: list[dict[str, Any]] = []
        pushes: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        for oid, no, ch, cid, paid, created, _prov in rows:
            start = paid or created
            if (ch, cid) in shows:
                plan.showcase[cid] = oid
                if no in (SHOWCASE, SECOND) or now - start < TODAY:
                    continue
            if now - start < TODAY:
                plan.today.append(oid)
                continue
            age_days = (now - start).total_seconds() / 86400
            if cancel and rnd.random() < 0.03:
                at = start + timedelta(hours=rnd.uniform(0.5, 3))
                events.append(_event(oid, at, "cs01", "李客服", names[0], cancel, "cancelled", reason="客户拍错尺码"))
                moved.append({"oid": oid, "st": cancel, "since": at})
                continue
            in_region = cid in region
            if age_days < 1.3 and rnd.random() < 0.25 and not in_region:
                target = "打包完成"
            elif age_days > 5 and rnd.random() < 0.03:
                target = "物流揽收"
            else:
                target = "签收确认"
            path = names[1:names.index(target) + 1]
            times, at = [], start
            for st in path:
                lo, hi = STEP_HOURS.get(st, (1, 10))
                at = at + timedelta(hours=rnd.uniform(lo, hi))
                times.append(at)
            while times and times[-1] > now - timedelta(minutes=10):  # not signed yet
                times.pop()
                path.pop()
            if "物流揽收" not in path:  # not shipped yet: packed, waiting for the carrier
                path = names[1:names.index("打包完成") + 1]
                times = [start + (now - start) * f for f in (0.2, 0.5, 0.8)]
            carrier = (REGION_CARRIER if rnd.random() < 0.7 else "中通") if in_region else rnd.choice(list(CARRIERS))
            returned = False
            if path[-1] == "签收确认":
                recent = now - times[-1] < timedelta(days=30)
                returned = in_region and rnd.random() < (0.24 if recent and carrier == REGION_CARRIER else 0.03)
                closed = times[-1] + timedelta(days=7, hours=rnd.uniform(0, 12))
                if not returned and closed < now and rnd.random() < 0.92:  # the after-sales window ended
                    path.append(names[-1])
                    times.append(closed)
            prev = names[0]
            for st, at in zip(path, times, strict=True):
                uid, who = ACTORS.get(st, ("ops01", "郑运营"))
                events.append(_event(oid, at, uid, who, prev, st, "state_changed",
                                     source="system" if uid == "system" else rnd.choice(["chat", "button"])))
                prev = st
            moved.append({"oid": oid, "st": prev, "since": times[-1]})
            if prev == "打包完成":
                plan.packed.append(oid)
                continue
            number = (REGION_PREFIX if carrier == REGION_CARRIER else CARRIERS[carrier]) + _digits(rnd, 12)
            picked = times[path.index("物流揽收")]
            tracks.append(dict(order_id=oid, carrier=carrier, number=number, created_at=picked - timedelta(hours=1)))
            events.append(dict(order_id=oid, at=picked - timedelta(hours=1), actor="wh01", source="chat",
                               kind="tracking_added", from_state=None, to_state=None,
                               detail={"actor_name": "孙仓管", "carrier": carrier, "number": number}))
            pushes.append(_push(number, "1", picked, oid, z))
            if "签收确认" in path:
                signed = times[path.index("签收确认")]
                pushes.append(_push(number, "3", signed, oid, z))
                if returned:
                    plan.returns.append((oid, signed))
                elif prev == "签收确认" and not in_region:
                    plan.signed.append(oid)
            elif (now - picked) > timedelta(hours=72):
                plan.late.append(oid)
        if moved:
            t = Order.__table__
            await s.execute(update(t).where(t.c.id == bindparam("oid"))  # type: ignore[arg-type]  # one executemany
                            .values(status=bindparam("st"), status_since=bindparam("since")), moved)
        for model, batch in ((TimelineEvent, events), (Tracking, tracks), (CarrierPush, pushes)):
            await insert_many(s, model.__table__, batch)  # type: ignore[arg-type]
    return plan


def _event(oid: int, at: datetime, uid: str, who: str, frm: str, to: str, kind: str, source: str = "chat",
           reason: str = "") -> dict[str, Any]:
    detail = {"actor_name": who, **({"reason": reason} if reason else {})}
    return dict(order_id=oid, at=at, actor=uid, source=source, kind=kind, from_state=frm, to_state=to, detail=detail)


def _push(number: str, code: str, at: datetime, oid: int, z: ZoneInfo) -> dict[str, Any]:
    """A Kuaidi100 push as the log keeps it (its event time in local time, as Kuaidi100 writes it)."""
    return dict(carrier="kuaidi100", number=number, state=code,
                event_time=at.astimezone(z).strftime("%Y-%m-%d %H:%M:%S"),
                order_id=oid, outcome="moved", received_at=at + timedelta(minutes=5))
