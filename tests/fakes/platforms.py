"""Fake sales-platform open APIs on loopback (Taobao router, Pinduoduo router, Douyin shop API),
speaking their documented request/answer shapes and checking signatures the documented way."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aiohttp import web

CST = timezone(timedelta(hours=8))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _sorted_kv(params: dict[str, str]) -> str:
    return "".join(k + params[k] for k in sorted(params) if k != "sign")


def _cst(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)


@dataclass
class FakePlatforms:
    app_key: str = "ak-test"
    secret: str = "sk-test"
    token: str = "sess"  # Youzan OAuth access token
    # channel -> [(modified time, payload)]
    orders: dict[str, list[tuple[datetime, dict[str, Any]]]] = field(default_factory=dict)
    requests: list[tuple[str, int]] = field(default_factory=list)  # (channel, page) as asked
    fail_on_request: int | None = None  # answer the n-th request (1-based) with a platform error
    delay_on_request: int | None = None  # sleep on the n-th request (a timeout for the client)
    delay_s: float = 2.0

    def add(self, channel: str, modified: datetime, payload: dict[str, Any]) -> None:
        self.orders.setdefault(channel, []).append((modified, payload))

    def app(self) -> web.Application:
        a = web.Application()
        a.router.add_post("/taobao/router/rest", self.taobao)
        a.router.add_post("/pdd/api/router", self.pdd)
        a.router.add_post("/douyin/order/searchList", self.douyin_search)
        a.router.add_post("/douyin/order/orderDetail", self.douyin_detail)
        a.router.add_post("/jd/routerjson", self.jd)
        a.router.add_post("/youzan/api/youzan.trades.sold.get/4.0.0", self.youzan)
        return a

    async def _gate(self, channel: str, page: int) -> bool:
        self.requests.append((channel, page))
        n = len(self.requests)
        if self.delay_on_request == n:
            await asyncio.sleep(self.delay_s)
        return self.fail_on_request == n

    def _window(self, channel: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        rows = sorted(((m, p) for m, p in self.orders.get(channel, []) if start <= m < end), key=lambda x: x[0])
        return [p for _, p in rows]

    async def taobao(self, request: web.Request) -> web.Response:
        p = {k: str(v) for k, v in (await request.post()).items()}
        if p.get("app_key") != self.app_key or p.get("sign", "").upper() != \
                _md5(self.secret + _sorted_kv(p) + self.secret).upper():
            return web.json_response({"error_response": {"code": 25, "msg": "Invalid signature"}})
        if "type" not in p:
            return web.json_response({"error_response": {"code": 40, "msg": "Missing required arguments:type"}})
        start, end = _cst(p["start_modified"]), _cst(p["end_modified"])
        if end - start > timedelta(days=1) or end <= start:
            return web.json_response({"error_response": {"code": 15, "msg": "Remote service error",
                                                         "sub_code": "isv.invalid-parameter:time-range"}})
        page, size = int(p.get("page_no", "1")), int(p.get("page_size", "40"))
        if await self._gate("taobao", page):
            return web.json_response({"error_response": {"code": 7, "msg": "App Call Limited"}})
        rows = self._window("taobao", start, end)
        chunk = rows[(page - 1) * size:page * size]
        return web.json_response({"trades_sold_increment_get_response": {
            "total_results": len(rows), "trades": {"trade": chunk}}})

    async def pdd(self, request: web.Request) -> web.Response:
        p = {k: str(v) for k, v in (await request.post()).items()}
        if p.get("client_id") != self.app_key or p.get("sign") != \
                _md5(self.secret + _sorted_kv(p) + self.secret).upper():
            return web.json_response({"error_response": {"error_code": 10019, "error_msg": "签名错误"}})
        start = datetime.fromtimestamp(int(p["start_updated_at"]), UTC)
        end = datetime.fromtimestamp(int(p["end_updated_at"]), UTC)
        if end - start > timedelta(minutes=30):
            return web.json_response({"error_response": {"error_code": 50001,
                                                         "error_msg": "时间间隔不能超过30分钟"}})
        page, size = int(p["page"]), int(p["page_size"])
        if await self._gate("pdd", page):
            return web.json_response({"error_response": {"error_code": 70031, "error_msg": "调用过于频繁"}})
        rows = self._window("pdd", start, end)
        return web.json_response({"order_sn_increment_get_response": {
            "total_count": len(rows), "has_next": page * size < len(rows),
            "order_sn_list": rows[(page - 1) * size:page * size]}})

    def _douyin_ok(self, request: web.Request, body: str) -> bool:
        q = request.query
        text = (f"app_key{q.get('app_key')}method{q.get('method')}param_json{body}"
                f"timestamp{q.get('timestamp')}v{q.get('v')}")
        return q.get("app_key") == self.app_key and q.get("sign") == _md5(self.secret + text + self.secret)

    async def douyin_search(self, request: web.Request) -> web.Response:
        body = await request.text()
        if not self._douyin_ok(request, body):
            return web.json_response({"code": 40003, "msg": "签名校验失败", "sub_msg": "sign error"})
        pj = json.loads(body)
        page, size = int(pj["page"]), int(pj["size"])
        if await self._gate("douyin", page):
            return web.json_response({"code": 50002, "msg": "业务处理失败"})
        rows = self._window("douyin", datetime.fromtimestamp(pj["update_time_start"], UTC),
                            datetime.fromtimestamp(pj["update_time_end"], UTC))
        return web.json_response({"code": 10000, "msg": "success", "data": {
            "shop_order_list": rows[page * size:(page + 1) * size], "total": len(rows), "page": page, "size": size}})

    async def douyin_detail(self, request: web.Request) -> web.Response:
        body = await request.text()
        if not self._douyin_ok(request, body):
            return web.json_response({"code": 40003, "msg": "签名校验失败"})
        oid = json.loads(body)["shop_order_id"]
        self.requests.append(("douyin-detail", 0))
        for _, p in self.orders.get("douyin", []):
            if p["order_id"] == oid:
                return web.json_response({"code": 10000, "msg": "success", "data": {"shop_order_detail": p}})
        return web.json_response({"code": 30001, "msg": "订单不存在"})

    async def jd(self, request: web.Request) -> web.Response:
        p = {k: str(v) for k, v in (await request.post()).items()}
        if p.get("app_key") != self.app_key or p.get("sign") != \
                _md5(self.secret + _sorted_kv(p) + self.secret).upper():
            return web.json_response({"error_response": {"code": "12", "zh_desc": "签名无效",
                                                         "en_desc": "Invalid signature"}})
        biz = json.loads(p["360buy_param_json"])
        page, size = int(biz["page"]), int(biz["page_size"])
        if await self._gate("jd", page):
            return web.json_response({"error_response": {"code": "66", "zh_desc": "平台连接后端服务超时"}})
        rows = self._window("jd", _cst(biz["start_date"]), _cst(biz["end_date"]))
        return web.json_response({"jingdong_pop_order_enSearch_responce": {"code": "0", "searchorderinfo_result": {
            "apiResult": {"success": True, "resultCode": "0"}, "orderTotal": len(rows),
            "orderInfoList": rows[(page - 1) * size:page * size]}}})

    async def youzan(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != self.token:
            return web.json_response({"success": False, "gw_err_resp": {"err_code": 4201,
                                                                        "err_msg": "access_token 不存在或已过期"}})
        biz = await request.json()
        page, size = int(biz["page_no"]), int(biz["page_size"])
        if await self._gate("youzan", page):
            return web.json_response({"success": False, "code": 141500101, "message": "系统繁忙"})
        rows = self._window("youzan", _cst(biz["start_update"]), _cst(biz["end_update"]))
        return web.json_response({"success": True, "code": 200, "data": {
            "total_results": len(rows), "full_order_info_list": rows[(page - 1) * size:page * size]}})
