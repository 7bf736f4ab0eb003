"""The parcel's own track: Kuaidi100 ``data`` entries kept per tracking number, deduplicated,
with the carrier's own event time; 轨迹 interleaves them (marked 物流), 查 shows the latest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.intake_http import add_intake_routes
from bot.testing import ChatBot
from orders.app import App
from orders.intake.models import CarrierScan

SALT = "k100-salt"
NUMBER = "73123456789012"
SCANS = [  # newest first, as Kuaidi100 sends them
    {"time": "2026-01-22 18:30:00", "ftime": "2026-01-22 18:30:00", "context": "【杭州转运中心】已发出",
     "areaName": "浙江,杭州市"},
    {"time": "2026-01-22 12:00:00", "ftime": "2026-01-22 12:00:00", "context": "【杭州西湖】已揽收",
     "areaName": "浙江,杭州市,西湖区"},
]


def push(data: list[dict[str, Any]], state: str = "0", number: str = NUMBER) -> dict[str, str]:
    param = json.dumps({"status": "polling", "lastResult": {"message": "ok", "nu": number, "com": "zhongtong",
                                                            "state": state, "data": data}}, ensure_ascii=False)
    return {"param": param, "sign": hashlib.md5((param + SALT).encode()).hexdigest()}


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient]:
    app.settings = app.settings.model_copy(update={"kuaidi100_salt": SALT})
    web_app = web.Application()
    add_intake_routes(web_app, app)
    async with TestClient(TestServer(web_app, host="127.0.0.1")) as c:
        yield c


async def scans(app: App) -> list[CarrierScan]:
    async with app.db.session() as s:
        return list((await s.scalars(select(CarrierScan).order_by(CarrierScan.event_at))).all())


async def test_track_kept_deduplicated_and_interleaved(app: App, bot: ChatBot, client: TestClient) -> None:
    # the carrier pushes before anyone attached the number: the track is kept anyway
    assert (await client.post("/intake/carrier/kuaidi100", data=push(SCANS[1:]))).status == 200
    await bot.say("wh01", f"运单 BG260122-0001 中通 {NUMBER}")
    await client.post("/intake/carrier/kuaidi100", data=push(SCANS))  # the whole track again, one new entry
    await client.post("/intake/carrier/kuaidi100", data=push(SCANS))  # a repeat
    rows = await scans(app)
    assert [r.context for r in rows] == ["【杭州西湖】已揽收", "【杭州转运中心】已发出"]
    assert rows[0].event_at == datetime(2026, 1, 22, 4, 0, tzinfo=UTC)  # 12:00 Beijing time
    assert rows[0].place == "浙江,杭州市,西湖区" and rows[0].number == NUMBER
    out = await bot.say("cs01", "轨迹 BG260122-0001")
    lines = out.splitlines()
    assert "含物流 2 条" in lines[0]
    i_import = next(i for i, ln in enumerate(lines) if "导入" in ln)
    i_pick = next(i for i, ln in enumerate(lines) if "【物流】01-22 12:00 浙江,杭州市,西湖区 【杭州西湖】已揽收" in ln)
    i_add = next(i for i, ln in enumerate(lines) if "加运单" in ln)
    i_out = next(i for i, ln in enumerate(lines) if "已发出" in ln)
    assert i_import < i_add < i_pick < i_out, out  # 运单 added at 10:00, scans at 12:00 and 18:30
    sheet = await bot.say("cs01", "查 BG260122-0001")
    assert "物流：01-22 18:30 浙江,杭州市 【杭州转运中心】已发出" in sheet


async def test_entries_without_a_readable_time_are_kept_once(app: App, client: TestClient) -> None:
    bad = [{"time": "昨天", "context": "派件中"}, {"context": "派件中"}, "not an entry"]
    assert (await client.post("/intake/carrier/kuaidi100", data=push(bad))).status == 200  # type: ignore[arg-type]
    await client.post("/intake/carrier/kuaidi100", data=push(bad))  # type: ignore[arg-type]
    rows = await scans(app)
    assert len(rows) == 2 and all(r.event_at is None for r in rows)


async def test_data_that_is_not_a_list_is_refused(app: App, client: TestClient) -> None:
    r = await client.post("/intake/carrier/kuaidi100", data=push({"x": 1}))  # type: ignore[arg-type]
    assert r.status == 400 and await scans(app) == []
