"""A realistic demo data set: a children's-clothing shop on five channels, 30 days of orders."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update

from orders.clock import Clock
from orders.db import Database
from orders.intake.canonical import CanonOrder
from orders.intake.importer import Importer, ImportReport
from orders.models import Order, TimelineEvent
from orders.users import RoleBook, upsert_user
from orders.workflow import WorkflowRegistry

DEMO_USERS = [
    ("cs01", "李客服", "客服部", ["cs"]), ("cs02", "王客服", "客服部", ["cs"]),
    ("cslead", "赵组长", "客服部", ["cs_lead"]), ("wh01", "孙仓管", "仓储部", ["warehouse"]),
    ("temp01", "钱临时", "仓储部", ["warehouse_temp"]), ("temp02", "周临时", "仓储部", ["warehouse_temp"]),
    ("fin01", "吴财务", "财务部", ["finance"]), ("ops01", "郑运营", "运营部", ["ops"]),
    ("boss", "陈总", "总经办", ["manager"]), ("admin", "管理员", "总部", ["admin"]),
]
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


def demo_orders(n: int, now: datetime, seed: int = 7) -> list[CanonOrder]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        ch = rnd.choice(list(CHANNELS))
        created = now - timedelta(days=30) + timedelta(seconds=rnd.randint(0, 30 * 86400))
        items = []
        total = Decimal(0)
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
        out.append(CanonOrder.model_validate({
            "channel": ch, "order_id": f"{rnd.randint(10**15, 10**16 - 1)}", "shop": CHANNELS[ch],
            "created_at": created.isoformat(), "paid_at": (created + timedelta(minutes=rnd.randint(0, 20))).isoformat(),
            "buyer_name": rnd.choice(SURNAMES) + rnd.choice(["小明", "女士", "先生", "丽", "伟"]),
            "phone": f"1{rnd.choice('3589')}{rnd.randint(10**8, 10**9 - 1)}",
            "address": {"province": p, "city": c, "district": d, "detail": f"{street}{rnd.randint(1, 30)}幢"},
            "items": items, "goods_total": str(total), "discounts": discounts, "shipping": str(shipping),
            "paid": str(paid), "owner": rnd.choice(["cs01", "cs02"]),
        }))
    return out


async def seed_demo(db: Database, clock: Clock, workflows: WorkflowRegistry, roles: RoleBook, tz: str,
                    n: int = 2400) -> ImportReport | None:
    """Seed users and ``n`` orders if the database has no orders; None when it already had some."""
    now = clock.now()
    async with db.session() as s:
        for uid, name, dept, rs in DEMO_USERS:
            await upsert_user(s, roles, user_id=uid, name=name, roles=rs, department=dept, now=now)
        if await s.scalar(select(func.count()).select_from(Order)):
            return None
    report = await Importer(db, clock, workflows, tz).import_orders(demo_orders(n, now))
    await _spread_states(db, workflows, now)
    return report


async def _spread_states(db: Database, workflows: WorkflowRegistry, now: datetime) -> None:
    """Older orders are further along: move each through the workflow with timeline rows."""
    rnd = random.Random(11)
    async with db.session() as s:
        wf = await workflows.current(s)
        names = wf.definition.names
        orders = (await s.execute(select(Order.id, Order.paid_at, Order.created_at))).all()
        events: list[dict[str, Any]] = []
        actors = {"仓库分单": ("cs01", "李客服"), "拣货中": ("temp01", "钱临时"), "打包完成": ("temp01", "钱临时"),
                  "物流揽收": ("wh01", "孙仓管"), "签收确认": ("cs02", "王客服"), "售后关闭": ("cs02", "王客服")}
        for oid, paid, created in orders:
            start = paid or created
            age_h = (now - start).total_seconds() / 3600
            steps = min(len(names) - 1, int(age_h / 20) + rnd.randint(0, 1))
            at = start
            status = names[0]
            if rnd.random() < 0.03 and steps < 4 and wf.definition.cancel:
                target = wf.definition.cancel.name
                at += timedelta(hours=1)
                events.append(dict(order_id=oid, at=at, actor="cs01", source="chat", kind="cancelled",
                                   from_state=status, to_state=target,
                                   detail={"actor_name": "李客服", "reason": "客户拍错尺码"}))
                status = target
                steps = 0
            for i in range(1, steps + 1):
                at = min(now, at + timedelta(hours=rnd.uniform(1, 18)))
                uid, name = actors.get(names[i], ("ops01", "郑运营"))
                events.append(dict(order_id=oid, at=at, actor=uid, source=rnd.choice(["chat", "button"]),
                                   kind="state_changed", from_state=names[i - 1], to_state=names[i],
                                   detail={"actor_name": name}))
                status = names[i]
            if status != names[0]:
                await s.execute(update(Order).where(Order.id == oid).values(status=status, status_since=at))
        if events:
            await s.execute(insert(TimelineEvent), events)
