"""Card buttons pressed over WeCom (twice, or by a role that may not) and images as evidence."""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import select

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.models import Order, TimelineEvent
from orders.outbox import enqueue
from tests.wecom.harness import Harness, card_xml, event_xml, media_xml

CARD_USERS = ["cs01", "cs02", "temp01"]


@registry.button("t3test-split:")
async def _split_button(req: Request, key: str) -> list[Reply]:
    """Test-only button: move the order into 仓库分单 and turn the card into "已处理" for all."""
    order_no = key.partition(":")[2]
    order, _ = await req.app.orders.history(order_no)
    if order.status != "支付成功":
        return [Reply(text=f"这个任务已经处理过了（订单当前：{order.status}）。")]
    await req.app.orders.advance(order_no, req.actor, "仓库分单")  # the workflow checks the role
    async with req.app.db.session() as s:
        await enqueue(s, to=CARD_USERS, msgtype="update_card", now=req.app.clock.now(),
                      payload={"response_code": req.incoming.response_code,
                               "replace_name": f"已处理 · {req.user.name}"})
    return [Reply(text=f"✅ 订单 {order_no} 已分单")]


async def _status(h: Harness, order_no: str) -> str:
    async with h.app.db.session() as s:
        return str(await s.scalar(select(Order.status).where(Order.order_no == order_no)))


async def test_card_pressed_by_a_role_that_may_not_then_twice(wecom: Harness) -> None:
    key = "t3test-split:BG260122-0002"
    await wecom.post(card_xml("temp01", key, "task-77", "rc-a", 1769047600))
    await wecom.settle()
    assert "您的角色不能把订单推进到「仓库分单」" in wecom.fake.texts_to("temp01")[-1]
    assert await _status(wecom, "BG260122-0002") == "支付成功"
    assert wecom.fake.sent("message/update_template_card") == []

    press = card_xml("cs01", key, "task-77", "rc-b", 1769047610)
    await wecom.post(press)
    await wecom.post(press)  # WeCom's retry of the same press
    await wecom.settle()
    assert await _status(wecom, "BG260122-0002") == "仓库分单"
    assert wecom.fake.texts_to("cs01") == ["✅ 订单 BG260122-0002 已分单"]
    updates = wecom.fake.sent("message/update_template_card")
    assert len(updates) == 1
    assert updates[0].body["response_code"] == "rc-b"
    assert updates[0].body["button"]["replace_name"] == "已处理 · 李客服"
    assert sorted(updates[0].body["userids"]) == sorted(CARD_USERS)

    await wecom.post(card_xml("cs02", key, "task-77", "rc-c", 1769047620))  # a second person, later
    await wecom.settle()
    assert "已经处理过" in wecom.fake.texts_to("cs02")[-1]
    assert len(wecom.fake.sent("message/update_template_card")) == 1
    async with wecom.app.db.session() as s:
        moves = (await s.scalars(select(TimelineEvent).where(TimelineEvent.kind == "state_changed"))).all()
    assert [(m.actor, m.source) for m in moves] == [("cs01", "button")]


async def test_image_is_kept_as_evidence_on_the_focused_order(wecom: Harness) -> None:
    jpeg = b"\xff\xd8\xff\xe0 a photo of a torn parcel"
    wecom.fake.serve_media("IMG1", jpeg)
    await wecom.post(media_xml("cs01", "image", "IMG1", "801"))
    await wecom.settle()
    assert "请先发送「查 <单号>」" in wecom.fake.texts_to("cs01")[-1]

    await wecom.say("cs01", "查 BG260122-0001")
    await wecom.post(media_xml("cs01", "image", "IMG1", "802"))
    await wecom.post(media_xml("cs01", "image", "IMG1", "803"))  # the same photo again
    await wecom.post(media_xml("cs01", "image", "NOPE", "804"))  # media WeCom does not know
    await wecom.settle()
    texts = wecom.fake.texts_to("cs01")
    assert "已把图片存为订单 BG260122-0001 的凭证（共1张）" in texts[-3]
    assert "已经是订单 BG260122-0001 的凭证" in texts[-2]
    assert "图片获取失败" in texts[-1]
    async with wecom.app.db.session() as s:
        evs = (await s.scalars(select(TimelineEvent).where(TimelineEvent.kind == "evidence"))).all()
    assert len(evs) == 1
    sha = hashlib.sha256(jpeg).hexdigest()
    assert evs[0].detail["sha256"] == sha and evs[0].actor == "cs01"
    assert (wecom.app.settings.data_dir / evs[0].detail["path"]).read_bytes() == jpeg
    assert evs[0].detail["path"].startswith("evidence/BG260122-0001/")


GATE: dict[str, asyncio.Event] = {}
SLOW_RUNS: list[str] = []


@registry.kind("event:t3test_slow")
async def _slow_event(req: Request) -> list[Reply]:
    """Test-only slow handler (think: a long voice transcription)."""
    SLOW_RUNS.append(req.user.user_id)
    await GATE["open"].wait()
    return [Reply(text="慢消息处理完了")]


async def test_a_slow_message_holds_up_only_its_own_sender(wecom: Harness) -> None:
    GATE["open"] = asyncio.Event()
    await wecom.post(event_xml("cs01", "t3test_slow", "", 1769047700))
    await wecom.say("cs01", "查 BG260122-0001")  # must wait for the slow one: same sender, in order
    await wecom.say("cs02", "查 BG260122-0002")
    for _ in range(200):  # cs02 is answered while cs01's first message is still running
        await wecom.worker.run_until_idle()
        if wecom.fake.texts_to("cs02"):
            break
        await asyncio.sleep(0.01)
    assert wecom.fake.texts_to("cs02") and wecom.fake.texts_to("cs01") == []
    GATE["open"].set()
    await wecom.settle()
    texts = wecom.fake.texts_to("cs01")
    assert texts[0] == "慢消息处理完了" and "BG260122-0001" in texts[1]


async def test_a_message_running_past_its_lease_is_not_replayed_by_its_own_process(wecom: Harness) -> None:
    from datetime import timedelta

    from orders.clock import ManualClock

    GATE["open"] = asyncio.Event()
    SLOW_RUNS.clear()
    await wecom.post(event_xml("cs01", "t3test_slow", "", 1769047800))
    await asyncio.sleep(0.05)  # claimed and running
    clock = wecom.app.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(minutes=6))  # past the 5-minute lease: the sweep sees an expired claim
    await wecom.processor.replay()
    GATE["open"].set()
    await wecom.settle()
    assert SLOW_RUNS == ["cs01"]  # the handler ran once (its side effects happen once)
    assert wecom.fake.texts_to("cs01") == ["慢消息处理完了"]
