"""The warehouse floor over real WeCom callbacks (our server, the fake WeCom API on loopback):
button presses, EAN-13 scans from the WeCom scanner, a hold updating the card in place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from orders.app import App
from tests.wecom.harness import Harness, card_xml, event_xml, make_harness

NO = "BG260122-0001"


@pytest.fixture
async def wecom(app: App) -> AsyncIterator[Harness]:
    async for h in make_harness(app):
        yield h


def scan_xml(user: str, code: str, t: int) -> str:
    info = (f"<ScanCodeInfo><ScanType><![CDATA[barcode]]></ScanType><ScanResult><![CDATA[{code}]]>"
            "</ScanResult></ScanCodeInfo>")
    return event_xml(user, "scancode_waitmsg", "scan", t, info)


def cards_to(h: Harness, user: str) -> list[dict[str, Any]]:
    return [c.body["template_card"] for c in h.fake.sent() if c.body["msgtype"] == "template_card"
            and user in c.body["touser"].split("|")]


def key_of(card: dict[str, Any], label: str) -> str:
    return next(str(b["key"]) for b in card["button_list"] if b["text"] == label)


async def test_scans_and_a_hold_over_wecom(wecom: Harness) -> None:
    await wecom.say("wh01", "条码 TQ-YRF-120 6901234567892 A-03-2 红色")
    await wecom.say("cs01", f"推进 {NO}")
    await wecom.settle()
    await wecom.say("temp01", "任务")
    await wecom.settle()
    [card] = cards_to(wecom, "temp01")
    assert "📍A-03-2 儿童羽绒服 120cm 红色" in card["horizontal_content_list"][0]["value"]
    await wecom.post(card_xml("temp01", key_of(card, "扫码拣货"), card["task_id"], "rc-press-1", 1769047300))
    await wecom.post(scan_xml("temp01", "EAN_13,6901234567893", 1769047301))  # check digit wrong
    await wecom.post(scan_xml("temp01", "EAN_13,6901234567892", 1769047302))
    await wecom.settle()
    texts = wecom.fake.texts_to("temp01")
    assert any("校验位不对" in t for t in texts)
    assert any("✅ 扫码一致：TQ-YRF-120 儿童羽绒服 120cm 1/1" in t for t in texts)
    await wecom.say("cs01", f"拦截 {NO} 买家申请退款")
    await wecom.settle()
    assert any("暂停 — 请勿发货" in t for t in wecom.fake.texts_to("temp01"))
    updates = [c.body for c in wecom.fake.sent("message/update_template_card")]
    held = [u for u in updates if u["template_card"]["main_title"]["desc"].startswith("暂停 — 请勿发货")]
    assert held and held[-1]["userids"] == ["temp01"]
    sent_codes = {c.answer["response_code"] for c in wecom.fake.sent() if c.answer and "response_code" in c.answer}
    assert held[-1]["response_code"] in sent_codes  # the card the temp holds, found by its task_id
    await wecom.post(scan_xml("temp01", "CODE_128,TQ-WY-110", 1769047303))
    await wecom.settle()
    assert "⛔" in wecom.fake.texts_to("temp01")[-1]


async def test_lead_lists_reports_and_hears_the_audio_as_a_wecom_voice_message(wecom: Harness) -> None:
    from sqlalchemy import select

    from orders.app import WAREHOUSE
    from orders.models import Order, User
    from orders.warehouse.exception_reports import Heard, record_report
    from stt.service import keep_audio
    from tests.stt.support import fixture_bytes

    app = wecom.app
    amr = fixture_bytes("ko_broken.amr")
    now = app.clock.now()
    path, sha = keep_audio(app.settings.data_dir, amr, now)
    async with app.db.session() as s:
        order = await s.scalar(select(Order).where(Order.order_no == NO))
        temp = await s.get(User, "temp01")
        assert order is not None and temp is not None
        await record_report(s, reporter=temp, order=order, now=now, wh=app[WAREHOUSE],
                            heard=Heard(kind="破损", transcript="외박스 파손", status="transcribed", problem="",
                                        media_id="MEDIA1", audio_path=path, audio_sha256=sha, seconds=2.0))
    await wecom.say("wh01", "异常")
    await wecom.settle()
    listing = wecom.fake.texts_to("wh01")[-1]
    assert "#1 破损 · 订单 BG260122-0001 · 钱临时" in listing and "已把 1 条语音原声发给您" in listing
    [upload] = wecom.fake.sent("media/upload")
    assert upload.params["type"] == "voice"
    assert upload.answer is not None
    voice = [c.body for c in wecom.fake.sent() if c.body["msgtype"] == "voice"]
    assert [(v["touser"], v["voice"]) for v in voice] == [("wh01", {"media_id": upload.answer["media_id"]})]
    await wecom.say("wh01", "处理 1 已换外箱")
    await wecom.settle()
    assert "已解除暂停" in wecom.fake.texts_to("wh01")[-1]
