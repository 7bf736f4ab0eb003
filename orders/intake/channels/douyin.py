"""Douyin shop (抖店): an order from ``order.searchList`` / ``order.orderDetail``. Money in fen
integers; after-sales live on the SKU lines, where a withdrawn request is after_sale_status 28 while
refund_status stays 1 (so refund_status is not used)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from orders.intake.channels.base import (
    AdapterError,
    ChannelConfig,
    discount,
    fen,
    local_time,
    need,
    opt_time,
    resolve_status,
    whole,
)

NAME = "douyin"
PROMOS = (("promotion_platform_amount", "coupon", "平台优惠", "platform"),
          ("promotion_shop_amount", "coupon", "店铺优惠", "shop"),
          ("promotion_talent_amount", "coupon", "达人优惠", "talent"))


def from_api(o: dict[str, Any], cfg: ChannelConfig, tz: ZoneInfo, shop: str) -> dict[str, Any] | None:
    skus = o.get("sku_order_list") or []
    if not skus:
        raise AdapterError("sku_order_list", "required field missing")
    codes = [("order_status", str(need(o, "order_status"))), ("main_status", str(o.get("main_status", "")))]
    codes += [("after_sale_status", str((x.get("after_sale_info") or {}).get("after_sale_status", 0)))
              for x in skus]
    st = resolve_status(cfg, codes)
    if st.skip:
        return None
    items = []
    for i, x in enumerate(skus):
        qty = whole(need(x, "item_num", f"sku_order_list.{i}."), f"sku_order_list.{i}.item_num")
        total = whole(need(x, "origin_amount", f"sku_order_list.{i}."), f"sku_order_list.{i}.origin_amount")
        if qty <= 0 or total % qty:
            raise AdapterError(f"sku_order_list.{i}.origin_amount", f"{total} fen does not split over {qty} items")
        items.append({"sku": str(x.get("code") or need(x, "sku_id", f"sku_order_list.{i}.")),
                      "name": str(need(x, "product_name", f"sku_order_list.{i}.")), "qty": qty,
                      "price": fen(total // qty, f"sku_order_list.{i}.origin_amount")})
    discounts = []
    for fld, kind, label, who in PROMOS:
        amt = whole(o.get(fld) or 0, fld)
        if amt:
            discounts.append(discount(kind, fld, label, fen(amt, fld), offered_by=who, borne_by=who))
    addr = o.get("post_addr") or {}
    return {
        "channel": NAME, "order_id": str(need(o, "order_id")), "shop": shop or str(o.get("shop_name") or ""),
        "created_at": local_time(whole(need(o, "create_time"), "create_time"), "create_time", tz),
        "paid_at": opt_time(o.get("pay_time"), "pay_time", tz),
        "modified_at": opt_time(o.get("update_time"), "update_time", tz),
        "status": st.state, "platform_status": f"{o['order_status']}/{o.get('main_status', '')}", "flags": st.flags,
        "buyer_name": str(o.get("mask_post_receiver") or o.get("post_receiver") or ""),
        "phone": str(o.get("mask_post_tel") or o.get("post_tel") or ""),
        "buyer_id": str(o.get("doudian_open_id") or o.get("open_id") or "")[:64],  # the buyer's open id in the shop
        "address": {"province": str((addr.get("province") or {}).get("name", "")),
                    "city": str((addr.get("city") or {}).get("name", "")),
                    "district": str((addr.get("town") or {}).get("name", "")), "detail": str(addr.get("detail", ""))},
        "items": items, "goods_total": fen(sum(whole(x["origin_amount"], "origin_amount") for x in skus),
                                           "origin_amount"),
        "discounts": discounts, "shipping": fen(o.get("post_amount") or 0, "post_amount"),
        "paid": fen(need(o, "pay_amount"), "pay_amount"),
    }
