"""A voice exception report over the whole transport: an encrypted voice callback, the AMR file
fetched from the fake WeCom ``media/get``, the real Vosk model, the report on the order and the
replies delivered back through ``message/send``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from orders.app import App
from orders.models import Order
from orders.warehouse.models import ExceptionReport
from stt.pool import SttPool
from stt.service import STT_POOL
from tests.stt.support import fixture_bytes
from tests.wecom.harness import Harness, card_xml, media_xml


def _cards_to(h: Harness, user: str) -> list[dict[str, Any]]:
    return [c.body["template_card"] for c in h.fake.sent() if c.body.get("msgtype") == "template_card"
            and user in c.body["touser"].split("|")]


async def test_voice_callback_becomes_an_exception_on_the_order(wecom: Harness, app: App, stt_pool: SttPool) -> None:
    app[STT_POOL] = stt_pool
    await wecom.say("cs01", "推进 BG260122-0001")  # into 仓库分单: auto-assigned to temp01
    await wecom.settle()
    assert "新任务：订单 BG260122-0001" in wecom.fake.texts_to("temp01")[-1]
    await wecom.say("temp01", "任务")
    await wecom.settle()
    card = next(c for c in _cards_to(wecom, "temp01") if "BG260122-0001" in c["main_title"]["title"])
    key = next(b["key"] for b in card["button_list"] if b["text"] == "异常上报")
    await wecom.post(card_xml("temp01", key, card["task_id"], "rc-report", 1769047700))
    await wecom.settle()
    assert "语音" in wecom.fake.texts_to("temp01")[-1]

    audio = fixture_bytes("ko_broken.amr")
    wecom.fake.serve_media("VOICE-1", audio, "audio/amr")
    await wecom.post(media_xml("temp01", "voice", "VOICE-1", "8000000000000000001", 1769047760))
    await wecom.settle()
    assert any(c.api == "media/get" and c.params.get("media_id") == "VOICE-1" for c in wecom.fake.calls)
    async with app.db.session() as s:
        [r] = (await s.scalars(select(ExceptionReport))).all()
        order = await s.scalar(select(Order).where(Order.order_no == "BG260122-0001"))
    assert order is not None and r.order_id == order.id
    assert r.status == "transcribed" and r.transcript == stt_pool.first["ko_broken.amr"]  # type: ignore[attr-defined]
    replies = wecom.fake.texts_to("temp01") + [str(c) for c in _cards_to(wecom, "temp01")]
    assert any(f"收到：{r.transcript}" in t for t in replies)
    assert any(f"#{r.id}" in t for t in wecom.fake.texts_to("wh01"))  # the lead is told
