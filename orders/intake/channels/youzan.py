"""Youzan: a trade from ``youzan.trades.sold.get`` 4.0 (``full_order_info``). Money in yuan
strings; TRADE_PAID and refund states 1/11 are momentary."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from orders.intake.channels.base import (
    AdapterError,
    ChannelConfig,
    discount,
    local_time,
    need,
    opt_time,
    resolve_status,
    whole,
    yuan,
)

NAME = "youzan"


def from_api(t: dict[str, Any], cfg: ChannelConfig, tz: ZoneInfo, shop: str) -> dict[str, Any] | None:
    full = t.get("full_order_info") or t
    info = full.get("order_info") or {}
    st = resolve_status(cfg, [("status", str(need(info, "status", "order_info."))),
                              ("refund_state", str(info.get("refund_state", 0)))])
    if st.skip:
        return None
    items = full.get("orders") or []
    if not items:
        raise AdapterError("orders", "required field missing")
    lines = [{"sku": str(x.get("outer_sku_id") or x.get("outer_item_id") or need(x, "oid", f"orders.{i}.")),
              "name": str(need(x, "title", f"orders.{i}.")),
              "qty": whole(need(x, "num", f"orders.{i}."), f"orders.{i}.num"),
              "price": yuan(need(x, "price", f"orders.{i}."), f"orders.{i}.price")} for i, x in enumerate(items)]
    kinds: dict[str, Any] = cfg.extra.get("promotion_kinds") or {}
    discounts = []
    for p in (t.get("order_promotion") or {}).get("order") or []:
        spec = kinds.get(str(p.get("promotion_type") or ""), {"kind": "other"})
        discounts.append(discount(str(spec["kind"]), "order_promotion.order.discount_fee",
                                  str(p.get("promotion_title") or ""), yuan(p.get("discount_fee"), "discount_fee"),
                                  promotion_id=str(p.get("promotion_id") or ""),
                                  offered_by="shop", borne_by="shop"))
    pay = full.get("pay_info") or {}
    addr = full.get("address_info") or {}
    buyer = full.get("buyer_info") or {}
    return {
        "channel": NAME, "order_id": str(need(info, "tid", "order_info.")), "shop": shop,
        "created_at": local_time(need(info, "created", "order_info."), "created", tz),
        "paid_at": opt_time(info.get("pay_time"), "pay_time", tz),
        "modified_at": opt_time(info.get("update_time"), "update_time", tz),
        "status": st.state, "platform_status": f"{info['status']}/{info.get('refund_state', 0)}", "flags": st.flags,
        "buyer_name": str(addr.get("receiver_name") or ""), "phone": str(addr.get("receiver_tel") or ""),
        "buyer_id": str(buyer.get("yz_open_id") or buyer.get("buyer_id") or buyer.get("fans_id") or "")[:64],
        "address": {"province": str(addr.get("delivery_province") or ""),
                    "city": str(addr.get("delivery_city") or ""), "district": str(addr.get("delivery_district") or ""),
                    "detail": str(addr.get("delivery_address") or "")},
        "items": lines, "goods_total": yuan(need(pay, "total_fee", "pay_info."), "total_fee"),
        "discounts": discounts, "shipping": yuan(pay.get("post_fee"), "post_fee"),
        "paid": yuan(need(pay, "payment", "pay_info."), "payment"),
    }
