"""Platform order-pull clients: each signs requests as its platform documents and returns one
page of full order payloads for a modified-time window.

- Taobao ``taobao.trades.sold.increment.get``: sorted k+v, MD5(secret + s + secret), upper hex;
  window <= 1 day; ``type`` passed so no order type is left out; pages from 1.
- Pinduoduo ``pdd.order.number.list.increment.get``: upper MD5(secret + sorted k+v + secret);
  window <= 30 min; pages from 1.
- Douyin ``order.searchList``: MD5(secret + app_key…method…param_json…timestamp…v2 + secret) over
  the sorted, compact ``param_json``; pages from 0."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import aiohttp

CST = timezone(timedelta(hours=8))
TAOBAO_TYPES = ("fixed,auction,guarantee_trade,step,independent_simple_trade,independent_shop_trade,auto_delivery,"
                "ec,cod,game_equipment,shopex_trade,netcn_trade,external_trade,instant_trade,b2c_cod,hotel_trade,"
                "super_market_trade,super_market_cod_trade,taohua,waimai,nopaid,eticket,tmall_i18n")
TAOBAO_FIELDS = ("tid,status,created,pay_time,modified,buyer_nick,receiver_name,receiver_mobile,receiver_state,"
                 "receiver_city,receiver_district,receiver_address,total_fee,post_fee,payment,orders,"
                 "promotion_details")


class PlatformError(RuntimeError):
    """The platform answered with an error (bad signature, expired session, limits...)."""


@dataclass(frozen=True)
class Credentials:
    base_url: str
    app_key: str
    secret: str
    session: str = ""  # access token / session key


@dataclass(frozen=True)
class Page:
    total: int
    orders: list[dict[str, Any]]


class PullClient(Protocol):
    max_window: timedelta
    first_page: int

    async def page(self, http: aiohttp.ClientSession, cred: Credentials, start: datetime, end: datetime,
                   page: int, size: int) -> Page: ...


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def sorted_kv(params: dict[str, str]) -> str:
    return "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")


def _cst(dt: datetime) -> str:
    return dt.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    if resp.status >= 500:
        raise PlatformError(f"HTTP {resp.status}")
    try:
        data = await resp.json(content_type=None)
    except (json.JSONDecodeError, aiohttp.ContentTypeError) as e:
        raise PlatformError(f"answer is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise PlatformError("answer is not a JSON object")
    return data


async def _signed_form(http: aiohttp.ClientSession, cred: Credentials, params: dict[str, str],
                       describe: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """POST ``params`` as a form signed the routers' way (Taobao, PDD, JD: upper-case MD5 of
    secret + sorted k+v + secret); an ``error_response`` answer becomes PlatformError(describe(it))."""
    params["sign"] = md5_upper(cred.secret + sorted_kv(params) + cred.secret)
    async with http.post(cred.base_url, data=params) as resp:
        data = await _json(resp)
    if "error_response" in data:
        raise PlatformError(describe(data["error_response"]))
    return data


class TaobaoClient:
    max_window = timedelta(days=1)
    first_page = 1
    method = "taobao.trades.sold.increment.get"

    async def page(self, http: aiohttp.ClientSession, cred: Credentials, start: datetime, end: datetime,
                   page: int, size: int) -> Page:
        params = {"method": self.method, "app_key": cred.app_key, "session": cred.session,
                  "timestamp": _cst(datetime.now(CST)), "format": "json", "v": "2.0", "sign_method": "md5",
                  "fields": TAOBAO_FIELDS, "start_modified": _cst(start), "end_modified": _cst(end),
                  "type": TAOBAO_TYPES, "page_no": str(page), "page_size": str(size), "use_has_next": "false"}
        data = await _signed_form(http, cred, params, lambda e: f"taobao error {e.get('code')}: {e.get('msg')} "
                                                                f"{e.get('sub_code', '')}".strip())
        body = data.get("trades_sold_increment_get_response")
        if not isinstance(body, dict):
            raise PlatformError("taobao answer lacks trades_sold_increment_get_response")
        return Page(int(body.get("total_results") or 0), list((body.get("trades") or {}).get("trade") or []))


class PddClient:
    max_window = timedelta(minutes=30)
    first_page = 1
    method = "pdd.order.number.list.increment.get"

    async def page(self, http: aiohttp.ClientSession, cred: Credentials, start: datetime, end: datetime,
                   page: int, size: int) -> Page:
        params = {"type": self.method, "client_id": cred.app_key, "access_token": cred.session,
                  "timestamp": str(int(datetime.now(CST).timestamp())), "data_type": "JSON", "version": "V1",
                  "start_updated_at": str(int(start.timestamp())), "end_updated_at": str(int(end.timestamp())),
                  "is_lucky_flag": "0", "order_status": "5", "refund_status": "5", "page": str(page),
                  "page_size": str(size), "use_has_next": "false"}
        data = await _signed_form(http, cred, params,
                                  lambda e: f"pdd error {e.get('error_code')}: {e.get('error_msg')}")
        body = data.get("order_sn_increment_get_response")
        if not isinstance(body, dict):
            raise PlatformError("pdd answer lacks order_sn_increment_get_response")
        return Page(int(body.get("total_count") or 0), list(body.get("order_sn_list") or []))


class DouyinClient:
    max_window = timedelta(days=1)
    first_page = 0
    method = "order.searchList"

    @staticmethod
    def sign(app_key: str, secret: str, method: str, param_json: str, timestamp: str) -> str:
        body = f"app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v2"
        return hashlib.md5(f"{secret}{body}{secret}".encode()).hexdigest()

    async def call(self, http: aiohttp.ClientSession, cred: Credentials, method: str,
                   param: dict[str, Any]) -> dict[str, Any]:
        """One signed call (``param_json`` in the body); the answer's ``data``, or PlatformError."""
        pj = json.dumps(param, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        ts = _cst(datetime.now(CST))
        query = {"app_key": cred.app_key, "method": method, "timestamp": ts, "v": "2", "sign_method": "md5",
                 "access_token": cred.session, "sign": self.sign(cred.app_key, cred.secret, method, pj, ts)}
        url = cred.base_url.rstrip("/") + "/" + method.replace(".", "/")
        async with http.post(url, params=query, data=pj.encode(), headers={"Content-Type": "application/json"}) as r:
            data = await _json(r)
        if data.get("code") != 10000:
            raise PlatformError(f"douyin error {data.get('code')}: {data.get('msg')} {data.get('sub_msg', '')}".strip())
        return data.get("data") or {}

    async def page(self, http: aiohttp.ClientSession, cred: Credentials, start: datetime, end: datetime,
                   page: int, size: int) -> Page:
        body = await self.call(http, cred, self.method, {
            "update_time_start": int(start.timestamp()), "update_time_end": int(end.timestamp()),
            "page": page, "size": size, "order_by": "update_time", "order_asc": True})
        return Page(int(body.get("total") or 0), list(body.get("shop_order_list") or []))

    async def detail(self, http: aiohttp.ClientSession, cred: Credentials, order_id: str) -> dict[str, Any]:
        order = (await self.call(http, cred, "order.orderDetail", {"shop_order_id": order_id})).get("shop_order_detail")
        if not isinstance(order, dict):
            raise PlatformError("douyin answer lacks shop_order_detail")
        return order


class JdClient:
    """JD POP order search (method name and parameter wrapping as in JD's SDK; unverified here):
    business parameters as JSON in ``360buy_param_json``, signed like Taobao (upper MD5)."""

    max_window = timedelta(days=1)
    first_page = 1
    method = "jingdong.pop.order.enSearch"

    async def page(self, http: aiohttp.ClientSession, cred: Credentials, start: datetime, end: datetime,
                   page: int, size: int) -> Page:
        biz = {"start_date": _cst(start), "end_date": _cst(end), "dateType": "1", "page": str(page),
               "page_size": str(size),
               "order_state": "WAIT_SELLER_STOCK_OUT,WAIT_GOODS_RECEIVE_CONFIRM,FINISHED_L,TRADE_CANCELED,LOCKED,"
                              "POP_ORDER_PAUSE"}
        params = {"method": self.method, "app_key": cred.app_key, "access_token": cred.session,
                  "timestamp": _cst(datetime.now(CST)), "v": "2.0",
                  "360buy_param_json": json.dumps(biz, sort_keys=True, separators=(",", ":"), ensure_ascii=False)}
        data = await _signed_form(http, cred, params,
                                  lambda e: f"jd error {e.get('code')}: {e.get('zh_desc') or e.get('en_desc')}")
        body = (data.get("jingdong_pop_order_enSearch_responce") or {}).get("searchorderinfo_result")
        if not isinstance(body, dict) or not (body.get("apiResult") or {}).get("success", False):
            raise PlatformError(f"jd answer not successful: {str(data)[:200]}")
        return Page(int(body.get("orderTotal") or 0), list(body.get("orderInfoList") or []))


class YouzanClient:
    """Youzan ``youzan.trades.sold.get`` 4.0.0 with an OAuth access token (no request signature)."""

    max_window = timedelta(days=1)
    first_page = 1
    method = "youzan.trades.sold.get"

    async def page(self, http: aiohttp.ClientSession, cred: Credentials, start: datetime, end: datetime,
                   page: int, size: int) -> Page:
        url = cred.base_url.rstrip("/") + f"/{self.method}/4.0.0"
        body = {"start_update": _cst(start), "end_update": _cst(end), "page_no": page, "page_size": size}
        async with http.post(url, params={"access_token": cred.session}, json=body) as resp:
            data = await _json(resp)
        if not data.get("success"):
            err = data.get("gw_err_resp") or data
            raise PlatformError(f"youzan error {err.get('err_code') or err.get('code')}: "
                                f"{err.get('err_msg') or err.get('message')}")
        d = data.get("data") or {}
        return Page(int(d.get("total_results") or 0), list(d.get("full_order_info_list") or []))


CLIENTS: dict[str, PullClient] = {"taobao": TaobaoClient(), "pdd": PddClient(), "douyin": DouyinClient(),
                                  "jd": JdClient(), "youzan": YouzanClient()}
