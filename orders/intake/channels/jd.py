"""JD POP: an order from the order search API. Money in yuan strings; coupons in
``couponDetailList`` with ``couponType`` codes (20 bundle … 41 JD coupon, 100 shop), mapped in config."""

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

NAME = "jd"


def from_api(o: dict[str, Any], cfg: ChannelConfig, tz: ZoneInfo, shop: str) -> dict[str, Any] | None:
    st = resolve_status(cfg, [("orderState", str(need(o, "orderState")))])
    if st.skip:
        return None
    items = o.get("itemInfoList") or []
    if not items:
        raise AdapterError("itemInfoList", "required field missing")
    lines = [{"sku": str(x.get("outerSkuId") or need(x, "skuId", f"itemInfoList.{i}.")),
              "name": str(need(x, "skuName", f"itemInfoList.{i}.")),
              "qty": whole(need(x, "itemTotal", f"itemInfoList.{i}."), f"itemInfoList.{i}.itemTotal"),
              "price": yuan(need(x, "jdPrice", f"itemInfoList.{i}."), f"itemInfoList.{i}.jdPrice")}
             for i, x in enumerate(items)]
    sku_map = {str(x.get("skuId")): str(x.get("outerSkuId") or x.get("skuId")) for x in items}
    types: dict[str, Any] = cfg.extra.get("coupon_types") or {}
    discounts = []
    for c in o.get("couponDetailList") or []:
        ct = str(need(c, "couponType", "couponDetailList."))
        spec = types.get(ct)
        if spec is None:
            raise AdapterError("couponDetailList.couponType", f"unknown coupon type {ct!r}")
        discounts.append(discount(str(spec["kind"]), f"couponDetailList[{ct}]", str(spec["label"]),
                                  yuan(need(c, "couponPrice", "couponDetailList."), "couponPrice"),
                                  offered_by=str(spec.get("offered_by", "unknown")),
                                  borne_by=str(spec.get("borne_by", "unknown")),
                                  sku=sku_map.get(str(c.get("skuId"))) if c.get("skuId") else None))
    ci = o.get("consigneeInfo") or {}
    return {
        "channel": NAME, "order_id": str(need(o, "orderId")), "shop": shop,
        "created_at": local_time(need(o, "orderStartTime"), "orderStartTime", tz),
        "paid_at": opt_time(o.get("paymentConfirmTime"), "paymentConfirmTime", tz),
        "modified_at": opt_time(o.get("modified"), "modified", tz),
        "status": st.state, "platform_status": str(o["orderState"]), "flags": st.flags,
        "buyer_name": str(ci.get("fullname") or ""), "phone": str(ci.get("mobile") or ""),
        "buyer_id": str(o.get("open_id_buyer") or o.get("pin") or "")[:64],  # open id (the account pin before)
        "address": {"province": str(ci.get("province") or ""), "city": str(ci.get("city") or ""),
                    "district": str(ci.get("county") or ""), "detail": str(ci.get("fullAddress") or "")},
        "items": lines, "goods_total": yuan(need(o, "orderTotalPrice"), "orderTotalPrice"), "discounts": discounts,
        "shipping": yuan(o.get("freightPrice"), "freightPrice"), "paid": yuan(need(o, "orderPayment"), "orderPayment"),
    }
