"""Generated parcels written as real rows: orders in 物流揽收 / 签收确认 with their timeline
entries, a tracking number (the carrier) and 退货 cases for the returned ones."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from orders.aftersales.models import AfterSalesCase
from orders.app import App
from orders.models import Order, TimelineEvent, Tracking

COUNTY = ("河南省", "周口市", "川汇区")
NORMAL = [("浙江省", "杭州市", "西湖区"), ("广东省", "深圳市", "南山区"), ("河南省", "郑州市", "金水区"),
          ("河南省", "周口市", "川汇区")]
SMALL_CITY = ("江苏省", "南京市", "鼓楼区")


@dataclass
class Batch:
    region: tuple[str, str, str]
    carrier: str
    n: int
    returned: int
    days_ago: tuple[float, float]  # 揽收 between these many days before now
    sign_hours: float = 20.0


async def write_parcels(app: App, batches: list[Batch], now: datetime, seed: int = 3) -> int:
    rnd = random.Random(seed)
    orders: list[dict[str, Any]] = []
    plan: list[tuple[datetime, datetime, bool, str]] = []
    k = 0
    for b in batches:
        ret = set(rnd.sample(range(b.n), b.returned))
        for i in range(b.n):
            k += 1
            picked = now - timedelta(days=rnd.uniform(*b.days_ago))
            signed = picked + timedelta(hours=b.sign_hours)
            no = f"RG{k:06d}"
            p, c, d = b.region
            orders.append(dict(order_no=no, order_no_rev=no[::-1], channel="taobao", channel_order_id=f"R{k}",
                               shop="童趣旗舰店", status="签收确认" if signed <= now else "物流揽收",
                               status_since=min(signed, now), flags=[], created_at=picked - timedelta(hours=20),
                               paid_at=picked - timedelta(hours=20), updated_at=now, province=p, city=c,
                               district=d, address_detail="人民路1号"))
            plan.append((picked, signed, i in ret, b.carrier))
    async with app.db.session() as s:
        ids = list((await s.scalars(insert(Order).returning(Order.id, sort_by_parameter_order=True), orders)).all())
        ev: list[dict[str, Any]] = []
        tr: list[dict[str, Any]] = []
        cases: list[dict[str, Any]] = []
        for oid, (picked, signed, ret, carrier) in zip(ids, plan, strict=True):
            ev.append(dict(order_id=oid, at=picked, actor="wh01", source="button", kind="state_changed",
                           from_state="打包完成", to_state="物流揽收", detail={}))
            tr.append(dict(order_id=oid, carrier=carrier, number=f"N{oid:09d}", created_at=picked))
            if signed <= now:
                ev.append(dict(order_id=oid, at=signed, actor="system", source="system", kind="state_changed",
                               from_state="物流揽收", to_state="签收确认", detail={}))
            if ret and signed <= now:
                cases.append(dict(case_no=f"AS{oid:08d}", order_id=oid, channel="taobao", kind="退货", amount_fen=0,
                                  reason="尺码不合适", misship=False, requester_id="cs01", status="approved",
                                  current_step=0, opened_at=signed + timedelta(days=1), refund_fen=0,
                                  reject_reason=""))
        await s.execute(insert(TimelineEvent), ev)
        await s.execute(insert(Tracking), tr)
        if cases:
            await s.execute(insert(AfterSalesCase), cases)
    return len(ids)


def county_case() -> list[Batch]:
    """The seed's county: 快驿达 in 川汇区 goes from ~3 % to ~24 % returns; a city with 2 of 5."""
    out = [Batch(r, "中通", 400, 12, (1, 29)) for r in NORMAL]
    out += [Batch(r, "中通", 500, 15, (31, 85)) for r in NORMAL]
    out += [Batch(COUNTY, "快驿达", 300, 9, (31, 85)), Batch(COUNTY, "快驿达", 300, 72, (2, 29)),
            Batch(SMALL_CITY, "圆通", 5, 2, (2, 20))]
    return out
