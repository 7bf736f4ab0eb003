"""Pinduoduo: an order from ``pdd.order.number.list.increment.get`` / ``pdd.order.information.get``.
Money in yuan (JSON numbers); receiver fields are ciphertext with ``*_mask`` twins (blank after
shipping): only the masks are kept, so such phones carry no hash."""

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

NAME = "pdd"


def from_api(o: dict[str, Any], cfg: ChannelConfig, tz: ZoneInfo, shop: str) -> dict[str, Any] | None:
    codes = [(f, str(o.get(f, d))) for f, d in
             (("order_status", None), ("refund_status", 1), ("confirm_status", 1), ("group_status", 1),
              ("risk_control_status", 0))]
    if codes[0][1] == "None":
        raise AdapterError("order_status", "required field missing")
    st = resolve_status(cfg, codes)
    if st.skip:
        return None
    items = o.get("item_list") or []
    if not items:
        raise AdapterError("item_list", "required field missing")
    lines = [{"sku": str(x.get("outer_id") or need(x, "sku_id", f"item_list.{i}.")),
              "name": str(need(x, "goods_name", f"item_list.{i}.")),
              "qty": whole(need(x, "goods_count", f"item_list.{i}."), f"item_list.{i}.goods_count"),
              "price": yuan(need(x, "goods_price", f"item_list.{i}."), f"item_list.{i}.goods_price")}
             for i, x in enumerate(items)]
    discounts = []
    for fld, kind, label, who in (("platform_discount", "coupon", "平台优惠", "platform"),
                                  ("seller_discount", "coupon", "店铺优惠", "shop"),
                                  ("capital_free_discount", "payment", "支付立减", "platform")):
        amt = yuan(o.get(fld), fld)
        if amt:
            discounts.append(discount(kind, fld, label, amt, offered_by=who, borne_by=who))
    phone = str(o.get("receiver_phone_mask") or "")
    return {
        "channel": NAME, "order_id": str(need(o, "order_sn")), "shop": shop,
        "created_at": local_time(need(o, "created_time"), "created_time", tz),
        "paid_at": opt_time(o.get("confirm_time") or o.get("pay_time"), "confirm_time", tz),
        "modified_at": opt_time(o.get("updated_at"), "updated_at", tz),
        "status": st.state, "platform_status": f"{o['order_status']}/{o.get('refund_status', 1)}", "flags": st.flags,
        "buyer_name": str(o.get("receiver_name_mask") or ""), "phone": phone,
        "address": {"province": str(o.get("province") or ""), "city": str(o.get("city") or ""),
                    "district": str(o.get("town") or ""), "detail": str(o.get("address_mask") or "")},
        "items": lines, "goods_total": yuan(need(o, "goods_amount"), "goods_amount"), "discounts": discounts,
        "shipping": yuan(o.get("postage"), "postage"), "paid": yuan(need(o, "pay_amount"), "pay_amount"),
    }
