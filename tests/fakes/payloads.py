"""Order payloads in each platform's documented API shape, for the fake platform servers, tests
and the intake bench. Two lines (199.00 × 1 + 79.50 × 2 = 358.00), a platform discount of 50.00
and a shop discount of 12.80, no postage: paid 295.20."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 1, 22, 10, 0, tzinfo=CST)
LINES = [("TQ-YRF-120", "儿童羽绒服 120cm", 1, 19900), ("TQ-WY-110", "加绒卫衣 110cm", 2, 7950)]


def _y(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _t(dt: datetime) -> str:
    return dt.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")


def taobao(tid: str, status: str = "WAIT_SELLER_SEND_GOODS", *, at: datetime = T0, phone: str = "13812345678",
           lines: list[tuple[str, str, int, int]] | None = None, refund: str = "NO_REFUND",
           payment: int | None = None) -> dict[str, Any]:
    lines = lines or LINES
    goods = sum(q * p for _, _, q, p in lines)
    return {
        "tid": tid, "status": status, "created": _t(at), "pay_time": _t(at + timedelta(minutes=1)),
        "modified": _t(at + timedelta(minutes=2)), "buyer_nick": "tb_buyer", "receiver_name": "张三丰",
        "receiver_mobile": phone, "receiver_state": "浙江省", "receiver_city": "杭州市", "receiver_district": "西湖区",
        "receiver_address": "文三路100号3幢", "total_fee": _y(goods), "post_fee": "0.00",
        "payment": _y(payment if payment is not None else goods - 6280),
        "orders": {"order": [{"oid": f"{tid}{i}", "num_iid": 600000 + i, "outer_sku_id": sku, "title": name,
                              "num": q, "price": _y(p), "refund_status": refund} for i, (sku, name, q, p)
                             in enumerate(lines)]},
        "promotion_details": {"promotion_detail": [
            {"id": 1, "promotion_id": "coupon-9001", "promotion_name": "平台券", "discount_fee": "50.00"},
            {"id": 2, "promotion_id": "shopbonus-77", "promotion_name": "店铺红包", "discount_fee": "12.80"}]},
    }


def pdd(sn: str, order_status: int = 1, *, refund_status: int = 1, at: datetime = T0, group_status: int = 1,
        risk: int = 0, shipped: bool = False) -> dict[str, Any]:
    goods = sum(q * p for _, _, q, p in LINES)
    return {
        "order_sn": sn, "order_status": order_status, "refund_status": refund_status, "confirm_status": 1,
        "group_status": group_status, "risk_control_status": risk, "created_time": _t(at),
        "confirm_time": _t(at + timedelta(minutes=1)), "updated_at": _t(at + timedelta(minutes=3)),
        "goods_amount": goods / 100, "pay_amount": (goods - 6280) / 100, "postage": 0.0,
        "platform_discount": 50.0, "seller_discount": 12.8, "capital_free_discount": 0.0,
        "receiver_name": "" if shipped else "~AgAAAAFuLz2k~", "receiver_name_mask": "张**",
        "receiver_phone": "" if shipped else "~AgAAAAFuLz2p~", "receiver_phone_mask": "138****5678",
        "province": "浙江省", "city": "杭州市", "town": "西湖区",
        "address": "" if shipped else "~AgAAAAFuLz2a~", "address_mask": "文三路***",
        "item_list": [{"goods_id": 1000 + i, "sku_id": 2000 + i, "outer_id": sku, "goods_name": name,
                       "goods_count": q, "goods_price": p / 100} for i, (sku, name, q, p) in enumerate(LINES)],
    }


def douyin(oid: str, order_status: int = 2, *, main_status: int = 105, after_sale: int = 0, refund: int = 0,
           at: datetime = T0, phone: str = "13812345678") -> dict[str, Any]:
    goods = sum(q * p for _, _, q, p in LINES)
    ts = int(at.timestamp())
    return {
        "order_id": oid, "order_status": order_status, "main_status": main_status, "create_time": ts,
        "pay_time": ts + 60, "update_time": ts + 120, "order_amount": goods - 6280, "pay_amount": goods - 6280,
        "post_amount": 0, "promotion_amount": 6280, "promotion_platform_amount": 5000, "promotion_shop_amount": 1280,
        "promotion_talent_amount": 0, "mask_post_receiver": "张**", "mask_post_tel": phone[:3] + "****" + phone[-4:],
        "post_tel": phone,
        "post_addr": {"province": {"name": "浙江省"}, "city": {"name": "杭州市"}, "town": {"name": "西湖区"},
                      "detail": "文三路100号3幢"},
        "sku_order_list": [{"sku_id": 3000 + i, "code": sku, "product_name": name, "item_num": q,
                            "origin_amount": q * p,
                            "after_sale_info": {"after_sale_status": after_sale, "refund_status": refund}}
                           for i, (sku, name, q, p) in enumerate(LINES)],
    }


def jd(oid: str, state: str = "WAIT_SELLER_STOCK_OUT", *, at: datetime = T0, coupon_type: str = "41",
       phone: str = "13812345678") -> dict[str, Any]:
    goods = sum(q * p for _, _, q, p in LINES)
    return {
        "orderId": oid, "orderState": state, "orderStartTime": _t(at), "paymentConfirmTime": _t(at),
        "modified": _t(at + timedelta(minutes=2)), "orderTotalPrice": _y(goods), "orderPayment": _y(goods - 6280),
        "freightPrice": "0.00", "sellerDiscount": "12.80",
        "consigneeInfo": {"fullname": "张三丰", "mobile": phone, "province": "浙江", "city": "杭州市",
                          "county": "西湖区", "fullAddress": "浙江杭州市西湖区文三路100号3幢"},
        "itemInfoList": [{"skuId": str(4000 + i), "outerSkuId": sku, "skuName": name, "itemTotal": str(q),
                          "jdPrice": _y(p)} for i, (sku, name, q, p) in enumerate(LINES)],
        "couponDetailList": [{"orderId": oid, "skuId": "4000", "couponType": coupon_type, "couponPrice": "50.00"},
                             {"orderId": oid, "couponType": "100", "couponPrice": "12.80"}],
    }


def youzan(tid: str, status: str = "WAIT_SELLER_SEND_GOODS", *, refund_state: int = 0, at: datetime = T0,
           phone: str = "13812345678") -> dict[str, Any]:
    goods = sum(q * p for _, _, q, p in LINES)
    return {
        "full_order_info": {
            "order_info": {"tid": tid, "status": status, "created": _t(at), "pay_time": _t(at),
                           "update_time": _t(at + timedelta(minutes=2)), "refund_state": refund_state},
            "address_info": {"receiver_name": "张三丰", "receiver_tel": phone, "delivery_province": "浙江省",
                             "delivery_city": "杭州市", "delivery_district": "西湖区",
                             "delivery_address": "文三路100号3幢"},
            "pay_info": {"total_fee": _y(goods), "payment": _y(goods - 6280), "post_fee": "0.00"},
            "orders": [{"oid": f"{tid}-{i}", "outer_sku_id": sku, "title": name, "num": q, "price": _y(p)}
                       for i, (sku, name, q, p) in enumerate(LINES)],
        },
        "order_promotion": {"order": [
            {"promotion_id": "c1", "promotion_title": "平台券", "promotion_type": "coupon", "discount_fee": "50.00"},
            {"promotion_id": "m2", "promotion_title": "店铺满减", "promotion_type": "meetReduce",
             "discount_fee": "12.80"}]},
    }
