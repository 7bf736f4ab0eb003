"""Canonical orders with known numbers for tests (BG260122-0001 …)."""

from __future__ import annotations

from typing import Any

from orders.intake.canonical import CanonOrder


def canon(order_id: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "channel": "taobao", "order_id": order_id, "shop": "童趣旗舰店",
        "created_at": "2026-01-22T09:00:00+08:00", "paid_at": "2026-01-22T09:01:00+08:00",
        "buyer_name": "张三丰", "phone": "13812345678",
        "address": {"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路100号3幢"},
        "items": [{"sku": "TQ-YRF-120", "name": "儿童羽绒服 120cm", "qty": 1, "price": "199.00"},
                  {"sku": "TQ-WY-110", "name": "加绒卫衣 110cm", "qty": 2, "price": "79.50"}],
        "goods_total": "358.00",
        "discounts": [{"kind": "coupon", "source": "coupon_fee", "label": "平台券", "amount": "50.00",
                       "offered_by": "platform", "borne_by": "platform"},
                      {"kind": "red_packet", "source": "shop_red_packet", "label": "店铺红包", "amount": "12.80",
                       "offered_by": "shop", "borne_by": "shop"},
                      {"kind": "freight", "source": "post_fee_subsidy", "label": "运费补贴", "amount": "-4.30",
                       "offered_by": "platform", "borne_by": "platform"}],
        "shipping": "0", "paid": "299.50", "owner": "cs01",
    }
    base.update(over)
    return base


def fixed_orders() -> list[CanonOrder]:
    """Five orders on 2026-01-22 (BG260122-0001..0005) and one on 01-23 ending in the same digits."""
    out = [CanonOrder.model_validate(canon(f"T100{i}")) for i in range(1, 6)]
    out.append(CanonOrder.model_validate(canon("P2001", channel="pdd", created_at="2026-01-23T09:00:00+08:00",
                                               paid_at="2026-01-23T09:00:00+08:00")))
    return out
