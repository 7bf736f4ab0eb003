"""HTTP endpoints of the intake: carrier pushes and platform pushes.

- ``POST /intake/carrier/kuaidi100``: Kuaidi100 subscription push (form ``param`` + ``sign``).
- ``POST /intake/push/douyin``: Douyin shop message push (``event-sign`` = MD5(app_key+body+secret));
  each order message is answered by fetching that order's details and importing them.

The WeCom server calls ``add_intake_routes(web_app, app)`` to mount them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

from bot.intake_jobs import build_importer, channels_of, shops_of
from orders.app import App
from orders.intake.carriers import CarrierSource
from orders.intake.carriers.apply import apply_event
from orders.intake.carriers.kuaidi100 import OK, Kuaidi100
from orders.intake.pull_clients import DouyinClient, PlatformError

log = logging.getLogger(__name__)
KUAIDI100: CarrierSource = Kuaidi100()


def add_intake_routes(web_app: web.Application, app: App) -> None:
    async def kuaidi100(request: web.Request) -> web.Response:
        return await _kuaidi100(app, request)

    async def douyin(request: web.Request) -> web.Response:
        return await _douyin(app, request)

    web_app.router.add_post("/intake/carrier/kuaidi100", kuaidi100)
    web_app.router.add_post("/intake/push/douyin", douyin)


def _k100(ok: bool, code: str, message: str, status: int) -> web.Response:
    body = OK if ok else {"result": False, "returnCode": code, "message": message}
    return web.json_response(body, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def _kuaidi100(app: App, request: web.Request) -> web.Response:
    form = {k: str(v) for k, v in (await request.post()).items()}
    if not KUAIDI100.verify(form, app.settings.kuaidi100_salt):
        log.warning("kuaidi100 push refused: bad or missing sign from %s", request.remote)
        return _k100(False, "400", "签名错误", 400)
    try:
        ev = KUAIDI100.parse(form)
    except (ValueError, KeyError, TypeError) as e:
        log.warning("kuaidi100 push refused: bad param: %s", e)
        return _k100(False, "400", "参数错误", 400)
    role = str((channels_of(app).raw.get("carriers") or {}).get("notify_role", "cs_lead"))
    outcome = await apply_event(app.orders, ev, notify_role=role)
    log.info("kuaidi100 push %s state %s: %s", ev.number, ev.code, outcome)
    # unknown numbers and repeats are answered with success too, or Kuaidi100 keeps retrying
    return _k100(True, "200", "成功", 200)


def douyin_sign(app_key: str, body: bytes, secret: str) -> str:
    return hashlib.md5(app_key.encode() + body + secret.encode()).hexdigest()


async def _douyin(app: App, request: web.Request) -> web.Response:
    body = await request.read()
    key, secret = app.settings.douyin_app_key, app.settings.douyin_app_secret
    sign = request.headers.get("event-sign", "")
    if not key or not secret or not hmac.compare_digest(douyin_sign(key, body, secret).lower(), sign.lower()):
        log.warning("douyin push refused: bad event-sign from %s", request.remote)
        return web.json_response({"code": 40041, "msg": "sign error"}, status=400)
    try:
        messages = json.loads(body)
        if not isinstance(messages, list):
            raise ValueError("body must be a JSON array")
        ids = [str(json.loads(m["data"])["p_id"]) for m in messages if isinstance(m, dict) and m.get("data")]
    except (ValueError, KeyError, TypeError) as e:
        log.warning("douyin push refused: bad body: %s", e)
        return web.json_response({"code": 40001, "msg": "bad body"}, status=400)
    douyin = channels_of(app).configs.get("douyin")
    shop_name = str((douyin.extra.get("push_shop") if douyin else "") or "")
    shops = [s for s in shops_of(app) if s.channel == "douyin" and (not shop_name or s.name == shop_name)]
    if not shops:
        log.error("douyin push: no douyin shop configured to fetch order details; %d messages not taken", len(ids))
        return web.json_response({"code": 50000, "msg": "no shop configured"}, status=500)
    shop = shops[0]
    payloads: list[dict[str, Any]] = []
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=shop.timeout_s)) as http:
            for oid in dict.fromkeys(ids):
                payloads.append(await DouyinClient().detail(http, shop.credentials(), oid))
    except (PlatformError, aiohttp.ClientError, TimeoutError) as e:
        log.warning("douyin push: fetching order details failed (the platform will push again): %s", e)
        return web.json_response({"code": 50001, "msg": "detail fetch failed"}, status=500)
    rep = await build_importer(app).import_parsed(channels_of(app).parse_payloads("douyin", payloads, shop.name))
    log.info("douyin push: %d messages, %s", len(messages), rep.summary())
    return web.json_response({"code": 0, "msg": "success"})
