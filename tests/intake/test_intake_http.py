"""Carrier and platform pushes over real loopback HTTP: Kuaidi100 and the Douyin message push."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.intake_http import add_intake_routes, douyin_sign
from bot.intake_jobs import CHANNELS, channels_of
from orders.app import App
from orders.intake.channels import Channels
from orders.outbox import OutboxMessage
from orders.service import Actor
from tests.fakes import payloads as P
from tests.fakes.platforms import FakePlatforms
from tests.intake.helpers import events_of, order_of

SALT = "k100-salt"
NUMBER = "SF1234567890"
OK = {"result": True, "returnCode": "200", "message": "成功"}


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient]:
    app.settings = app.settings.model_copy(update={"kuaidi100_salt": SALT, "douyin_app_key": "dy-ak",
                                                   "douyin_app_secret": "dy-sk"})
    await app.orders.add_tracking("BG260122-0001", Actor.system(), "顺丰", NUMBER)
    web_app = web.Application()
    add_intake_routes(web_app, app)
    async with TestClient(TestServer(web_app, host="127.0.0.1")) as c:
        yield c


def k100(state: str, number: str = NUMBER, time: str = "2026-01-22 12:00:00", salt: str = SALT,
         upper: bool = False) -> dict[str, str]:
    param = json.dumps({"status": "polling", "message": "", "lastResult": {
        "message": "ok", "nu": number, "ischeck": "0", "com": "shunfeng", "status": "200", "state": state,
        "data": [{"time": time, "ftime": time, "context": "【杭州】顺丰速运 已收取快件"}]}}, ensure_ascii=False)
    sign = hashlib.md5((param + salt).encode()).hexdigest()
    return {"param": param, "sign": sign.upper() if upper else sign}


async def outbox(app: App) -> list[OutboxMessage]:
    async with app.db.session() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_picked_up_moves_to_logistics_and_tells_the_lead(app: App, client: TestClient) -> None:
    r = await client.post("/intake/carrier/kuaidi100", data=k100("1", upper=True))  # sign case-insensitive
    assert r.status == 200 and await r.json() == OK
    o = await order_of(app, "taobao", "T1001")
    assert o.status == "物流揽收"
    moved = [e for e in await events_of(app, o.id) if e.kind == "state_changed"]
    assert moved[-1].to_state == "物流揽收" and moved[-1].source == "system"
    msgs = [m for m in await outbox(app) if m.target == "cslead"]
    assert [m.payload["content"] for m in msgs] == ["订单#BG260122-0001 已揽收，请关注48小时内签收反馈"]
    # states it only passed through notify nobody (no pick task for a parcel already collected)
    assert [m.target for m in await outbox(app)] == ["cslead"]
    # the same push again: answered, nothing more happens
    r = await client.post("/intake/carrier/kuaidi100", data=k100("1", upper=True))
    assert await r.json() == OK and len(await outbox(app)) == len(msgs)
    # signed (fine code 301) moves on to 签收确认
    r = await client.post("/intake/carrier/kuaidi100", data=k100("301", time="2026-01-23 09:00:00"))
    assert (await order_of(app, "taobao", "T1001")).status == "签收确认"


async def test_fine_code_103_is_picked_up_but_102_is_not(app: App, client: TestClient) -> None:
    await client.post("/intake/carrier/kuaidi100", data=k100("102"))
    assert (await order_of(app, "taobao", "T1001")).status == "支付成功"
    await client.post("/intake/carrier/kuaidi100", data=k100("103", time="2026-01-22 12:05:00"))
    assert (await order_of(app, "taobao", "T1001")).status == "物流揽收"


@pytest.mark.parametrize(("state", "label"), [("2", "疑难件"), ("4", "退签"), ("6", "退回"), ("14", "拒签")])
async def test_problem_states_open_an_exception(app: App, client: TestClient, state: str, label: str) -> None:
    r = await client.post("/intake/carrier/kuaidi100", data=k100(state))
    assert await r.json() == OK
    o = await order_of(app, "taobao", "T1001")
    assert f"物流异常:{label}" in o.flags and o.status == "支付成功"
    ev = [e for e in await events_of(app, o.id) if e.kind == "exception_opened"]
    assert ev and ev[0].source == "system" and ev[0].detail["number"] == NUMBER
    texts = [m.payload["content"] for m in await outbox(app)]
    assert any(f"订单#BG260122-0001 物流异常：{label}" in t for t in texts)


async def test_bad_sign_is_refused_and_changes_nothing(app: App, client: TestClient, caplog) -> None:
    caplog.set_level(logging.WARNING)
    r = await client.post("/intake/carrier/kuaidi100", data=k100("1", salt="wrong"))
    assert r.status == 400 and (await r.json())["result"] is False
    assert (await order_of(app, "taobao", "T1001")).status == "支付成功"
    assert "bad or missing sign" in caplog.text


async def test_bad_param_is_refused(app: App, client: TestClient) -> None:
    param = "{not json"
    r = await client.post("/intake/carrier/kuaidi100",
                          data={"param": param, "sign": hashlib.md5((param + SALT).encode()).hexdigest()})
    assert r.status == 400 and (await r.json())["message"] == "参数错误"


async def test_unknown_number_is_answered_logged_and_ignored(app: App, client: TestClient, caplog) -> None:
    caplog.set_level(logging.WARNING)
    before = len(await outbox(app))
    r = await client.post("/intake/carrier/kuaidi100", data=k100("1", number="YT0000000001"))
    assert await r.json() == OK
    assert "unknown_number" in caplog.text and len(await outbox(app)) == before


@pytest.fixture
async def douyin_api(app: App) -> AsyncIterator[FakePlatforms]:
    fp = FakePlatforms()
    server = TestServer(fp.app(), host="127.0.0.1")
    await server.start_server()
    raw = copy.deepcopy(channels_of(app).raw)
    raw["shops"] = [{"name": "douyin-main", "channel": "douyin", "app_key": "ak-test", "secret": "sk-test",
                     "base_url": str(server.make_url("/douyin")), "timeout_s": 5}]
    app[CHANNELS] = Channels(raw, app.settings.tz)
    yield fp
    await server.close()


def _push(ids: list[str]) -> bytes:
    msgs = [{"tag": "101", "msg_id": f"m{i}", "data": json.dumps({"p_id": oid, "shop_id": 77})}
            for i, oid in enumerate(ids)]
    return json.dumps(msgs).encode()


async def test_douyin_push_fetches_and_imports(app: App, client: TestClient, douyin_api: FakePlatforms) -> None:
    douyin_api.add("douyin", P.T0, P.douyin("DYP1"))
    body = _push(["DYP1", "DYP1"])
    r = await client.post("/intake/push/douyin", data=body,
                          headers={"event-sign": douyin_sign("dy-ak", body, "dy-sk"), "app-id": "dy-ak"})
    assert r.status == 200 and (await r.json())["code"] == 0
    o = await order_of(app, "douyin", "DYP1")
    assert o.shop == "douyin-main" and o.paid_fen == 29520
    assert douyin_api.requests == [("douyin-detail", 0)]  # the repeated id is fetched once
    # a later push of a shipped order moves it
    douyin_api.orders["douyin"] = [(P.T0 + timedelta(hours=1), P.douyin("DYP1", 3))]
    body = _push(["DYP1"])
    await client.post("/intake/push/douyin", data=body, headers={"event-sign": douyin_sign("dy-ak", body, "dy-sk")})
    assert (await order_of(app, "douyin", "DYP1")).status == "物流揽收"


async def test_douyin_push_with_bad_sign_is_refused(app: App, client: TestClient, douyin_api: FakePlatforms) -> None:
    douyin_api.add("douyin", P.T0, P.douyin("DYP2"))
    body = _push(["DYP2"])
    r = await client.post("/intake/push/douyin", data=body, headers={"event-sign": "0" * 32})
    assert r.status == 400 and douyin_api.requests == []
