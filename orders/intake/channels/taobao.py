"""Taobao/Tmall: a trade from ``taobao.trades.sold.increment.get`` / ``taobao.trade.fullinfo.get``.
Money in yuan strings; times in Beijing time; promotion_details don't say who bears a discount."""

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

NAME = "taobao"


def _kind(cfg: ChannelConfig, promotion_id: str) -> str:
    for prefix, kind in (cfg.extra.get("promotion_kinds") or {}).items():
        if promotion_id.startswith(str(prefix)):
            return str(kind)
    return "other"


def from_api(t: dict[str, Any], cfg: ChannelConfig, tz: ZoneInfo, shop: str) -> dict[str, Any] | None:
    lines = (t.get("orders") or {}).get("order") or []
    if not lines:
        raise AdapterError("orders.order", "required field missing")
    status = str(need(t, "status"))
    step = str(t.get("step_trade_status") or "")  # presale (分阶段付款): FRONT_PAID_FINAL_NOPAID = 定金已付
    if step and f"{status}/{step}" in cfg.maps.get("status", {}):
        status = f"{status}/{step}"  # the stage is mapped on its own, e.g. to 预售定金锁定
    codes = [("status", status)]
    codes += [("refund_status", str(x.get("refund_status") or "NO_REFUND")) for x in lines]
    st = resolve_status(cfg, codes)
    if st.skip:
        return None
    items = []
    for i, x in enumerate(lines):
        items.append({"sku": str(x.get("outer_sku_id") or x.get("sku_id") or need(x, "num_iid", f"orders.{i}.")),
                      "name": str(need(x, "title", f"orders.{i}.")), "qty": whole(need(x, "num", f"orders.{i}."),
                                                                                  f"orders.{i}.num"),
                      "price": yuan(need(x, "price", f"orders.{i}."), f"orders.{i}.price")})
    discounts = []
    for p in (t.get("promotion_details") or {}).get("promotion_detail") or []:
        pid = str(p.get("promotion_id") or "")
        discounts.append(discount(_kind(cfg, pid), "promotion_details.discount_fee",
                                  str(p.get("promotion_name") or ""), yuan(p.get("discount_fee"), "discount_fee"),
                                  promotion_id=pid))
    return {
        "channel": NAME, "order_id": str(need(t, "tid")), "shop": shop or str(t.get("seller_nick") or ""),
        "created_at": local_time(need(t, "created"), "created", tz),
        "paid_at": opt_time(t.get("pay_time"), "pay_time", tz),
        "modified_at": opt_time(t.get("modified"), "modified", tz),
        "status": st.state, "platform_status": str(t["status"]), "flags": st.flags,
        "buyer_name": str(t.get("receiver_name") or t.get("buyer_nick") or ""),
        "phone": str(t.get("receiver_mobile") or ""),
        "buyer_id": str(t.get("buyer_open_uid") or t.get("buyer_nick") or "")[:64],
        "address": {"province": str(t.get("receiver_state") or ""), "city": str(t.get("receiver_city") or ""),
                    "district": str(t.get("receiver_district") or ""),
                    "detail": str(t.get("receiver_address") or "")},
        "items": items, "goods_total": yuan(need(t, "total_fee"), "total_fee"), "discounts": discounts,
        "shipping": yuan(t.get("post_fee"), "post_fee"), "paid": yuan(need(t, "payment"), "payment"),
    }
