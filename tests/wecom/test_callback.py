"""The callback server end to end: encrypted callbacks over real HTTP, replies at the fake API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.wecom.crypto import CallbackCrypto
from orders.clock import ManualClock
from orders.inbox import InboxMessage
from orders.outbox import OutboxMessage
from tests.wecom.harness import Harness, card_xml, event_xml, media_xml, text_xml

VECTOR = dict(token="QDG6eK", aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corp_id="wx5823bf96d3bd56c7")
ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
ECHO_SIG = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"


async def _count(h: Harness, model: type) -> int:
    async with h.app.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def test_published_test_vector() -> None:
    c = CallbackCrypto(**VECTOR)
    assert c.verify_url(ECHO_SIG, "1409659589", "263014780", ECHO) == "1616140317555161061"


async def test_url_verification_answers_bare_plaintext(wecom: Harness) -> None:
    echo, sig = wecom.crypto.encrypt_echo("1616140317555161061", "263014780", "1409659589")
    r = await wecom.http.get("/wecom/callback", params={"msg_signature": sig, "timestamp": "1409659589",
                                                        "nonce": "263014780", "echostr": echo})
    assert r.status == 200
    assert await r.read() == b"1616140317555161061"
    bad = await wecom.http.get("/wecom/callback", params={"msg_signature": "0" * 40, "timestamp": "1409659589",
                                                          "nonce": "263014780", "echostr": echo})
    assert bad.status == 403
    assert (await wecom.http.get("/healthz")).status == 200


async def test_query_round_trip_reaches_the_fake_api(wecom: Harness) -> None:
    r = await wecom.say("cs01", "查 BG260122-0001")
    assert r.status == 200
    assert await r.read() == b""
    await wecom.settle()
    texts = wecom.fake.texts_to("cs01")
    assert len(texts) == 1
    assert "订单 BG260122-0001" in texts[0] and "13812345678" not in texts[0]
    call = wecom.fake.sent()[0]
    assert call.body["touser"] == "cs01" and call.body["agentid"] == 1000002
    async with wecom.app.db.session() as s:
        row = (await s.scalars(select(InboxMessage))).one()
    assert row.status == "done" and row.msg_id


async def test_wrong_or_missing_signature_is_403_and_nothing_stored(wecom: Harness) -> None:
    body, params = wecom.encrypt(text_xml("cs01", "查 BG260122-0001", "1"))
    r = await wecom.http.post("/wecom/callback", params={**params, "msg_signature": "f" * 40}, data=body)
    assert r.status == 403
    r = await wecom.http.post("/wecom/callback", params={"timestamp": params["timestamp"]}, data=body)
    assert r.status == 403
    # a valid signature over a different timestamp: the signature covers the timestamp too
    r = await wecom.http.post("/wecom/callback", params={**params, "timestamp": "1"}, data=body)
    assert r.status == 403
    await wecom.settle()
    assert await _count(wecom, InboxMessage) == 0
    assert wecom.fake.sent() == []


async def test_payload_for_another_corp_is_403(wecom: Harness) -> None:
    other = CallbackCrypto("orderbotTestToken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wwOTHERcorp")
    body, sig = other.encrypt(text_xml("cs01", "查 BG260122-0001", "2"), "n", "1769047200")
    r = await wecom.http.post("/wecom/callback", params={"msg_signature": sig, "timestamp": "1769047200",
                                                         "nonce": "n"}, data=body)
    assert r.status == 403
    assert await _count(wecom, InboxMessage) == 0


async def test_body_over_one_mib_is_413(wecom: Harness) -> None:
    body, params = wecom.encrypt(text_xml("cs01", "x" * (1024 * 1024), "3"))
    r = await wecom.http.post("/wecom/callback", params=params, data=body)
    assert r.status == 413

    async def chunks():  # no Content-Length: aiohttp's client_max_size stops it while reading
        for _ in range(20):
            yield b"y" * 65536

    r = await wecom.http.post("/wecom/callback", params=params, data=chunks())
    assert r.status == 413
    assert await _count(wecom, InboxMessage) == 0


async def test_malformed_xml_or_base64_is_400(wecom: Harness) -> None:
    from wechatpy.utils import WeChatSigner

    def signed(encrypt: str) -> dict[str, str]:
        signer = WeChatSigner()
        signer.add_data("orderbotTestToken", "1769047200", "n", encrypt)
        return {"msg_signature": signer.signature, "timestamp": "1769047200", "nonce": "n"}

    params = signed("x")
    assert (await wecom.http.post("/wecom/callback", params=params, data=b"<xml><Encrypt>")).status == 400
    assert (await wecom.http.post("/wecom/callback", params=params, data=b"not xml at all")).status == 400
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert (await wecom.http.post("/wecom/callback", params=params, data=bomb)).status == 400
    for enc in ("%%%not-base64%%%", "QUJD", "A" * 64):  # bad base64; too short; decrypts to garbage
        r = await wecom.http.post("/wecom/callback", params=signed(enc),
                                  data=f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode())
        assert r.status in (400, 403), enc
    r = await wecom.http.post("/wecom/callback", params=signed("QUJD"),
                              data=b"<xml><Encrypt><![CDATA[QUJD]]></Encrypt></xml>")
    assert r.status == 400
    # a decryptable body whose content is not a WeCom message
    body, p2 = wecom.encrypt("<xml><Nothing/></xml>")
    assert (await wecom.http.post("/wecom/callback", params=p2, data=body)).status == 400
    assert await _count(wecom, InboxMessage) == 0


async def test_replayed_callback_is_processed_once(wecom: Harness) -> None:
    xml = text_xml("cs01", "查 BG260122-0002", "4242")
    for _ in range(3):  # WeCom's retries, then an attacker's replay after processing
        assert (await wecom.post(xml)).status == 200
    await wecom.settle()
    assert (await wecom.post(xml)).status == 200
    await wecom.settle()
    assert len(wecom.fake.texts_to("cs01")) == 1
    assert await _count(wecom, InboxMessage) == 1
    # events have no MsgId: user + CreateTime + event + key identify them
    ev = event_xml("cs01", "click", "menu_help", 1769047300)
    await wecom.post(ev)
    await wecom.post(ev)
    await wecom.post(event_xml("cs01", "click", "menu_help", 1769047301))
    await wecom.settle()
    assert await _count(wecom, InboxMessage) == 3


async def test_unknown_user_gets_polite_reply_and_admins_hear_once_a_day(wecom: Harness) -> None:
    wecom.fake.users.add("stranger9")  # a member of the WeCom corp, not in our users table
    for _ in range(3):
        await wecom.say("stranger9", "查 BG260122-0001")
    # any other kind of message (video, file, location, voice, image) gets the same answer
    for i, kind in enumerate(("video", "file", "location", "link")):
        await wecom.post(text_xml("stranger9", "", f"55{i}").replace("[text]", f"[{kind}]"))
    await wecom.post(media_xml("stranger9", "voice", "MV1", "560"))
    await wecom.post(media_xml("stranger9", "image", "MI1", "561"))
    await wecom.settle()
    replies = wecom.fake.texts_to("stranger9")
    assert len(replies) == 9 and all("还没有开通" in t for t in replies), replies
    assert "订单" not in "".join(replies)
    alerts = [t for t in wecom.fake.texts_to("admin") if "stranger9" in t]
    assert len(alerts) == 1
    assert isinstance(wecom.app.clock, ManualClock)
    wecom.app.clock.advance(timedelta(days=1))
    await wecom.say("stranger9", "在吗")
    await wecom.settle()
    assert len([t for t in wecom.fake.texts_to("admin") if "stranger9" in t]) == 2


async def test_events_and_scan_and_unsupported_types(wecom: Harness) -> None:
    scan = "<ScanCodeInfo><ScanType><![CDATA[barcode]]></ScanType><ScanResult><![CDATA[CODE_128,BG260122-0003]]>" \
           "</ScanResult></ScanCodeInfo>"
    await wecom.post(event_xml("wh01", "scancode_waitmsg", "scan_order", 1769047400, scan))
    await wecom.post(event_xml("wh01", "enter_agent", "", 1769047401))
    await wecom.post(text_xml("wh01", "", "99").replace("[text]", "[video]"))
    await wecom.settle()
    texts = wecom.fake.texts_to("wh01")
    assert any("订单 BG260122-0003" in t for t in texts)
    assert any("暂不支持视频消息" in t for t in texts)
    async with wecom.app.db.session() as s:
        kinds = sorted((await s.scalars(select(InboxMessage.kind))).all())
    assert kinds == ["event:enter_agent", "event:scancode_waitmsg", "video"]


async def test_long_reply_is_split_under_the_byte_limit(wecom: Harness) -> None:
    await wecom.say("cs01", "轨迹 BG260122-0001")
    await wecom.settle()
    assert wecom.fake.texts_to("cs01")
    assert all(len(t.encode()) <= 2048 for t in wecom.fake.texts_to("cs01"))


async def test_inbox_rows_left_by_a_crash_are_processed_on_start(wecom: Harness) -> None:
    from orders import inbox

    now = wecom.app.clock.now()
    rows = [dict(dedupe_key=f"msg:{n}", msg_id=str(n), user_id=u, kind="text", xml=text_xml(u, f"查 {no}", str(n)),
                 received_at=now) for n, u, no in ((555, "cs02", "BG260122-0004"), (556, "cs01", "BG260122-0005"),
                                                   (557, "wh01", "BG260122-0003"))]
    async with wecom.app.db.session() as s:
        ids = await inbox.store_many(s, rows)
        crashed, running = ids["msg:556"], ids["msg:557"]
        await s.execute(update(InboxMessage).where(InboxMessage.id == crashed)
                        .values(status="processing", claimed_at=wecom.app.clock.now() - timedelta(minutes=6)))
        await s.execute(update(InboxMessage).where(InboxMessage.id == running)  # a live peer's claim
                        .values(status="processing", claimed_at=wecom.app.clock.now()))
    assert await wecom.processor.replay() == 2
    await wecom.settle()
    assert any("BG260122-0004" in t for t in wecom.fake.texts_to("cs02"))
    assert any("BG260122-0005" in t for t in wecom.fake.texts_to("cs01"))
    assert wecom.fake.texts_to("wh01") == []
    assert await wecom.processor.replay() == 0


async def test_card_event_reaches_the_button_registry(wecom: Harness) -> None:
    await wecom.post(card_xml("cs01", "nosuchprefix:1", "task-1", "rc-1", 1769047500))
    await wecom.settle()
    assert any("按钮已失效" in t for t in wecom.fake.texts_to("cs01"))
    async with wecom.app.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_non_characters_over_wecom_get_a_chinese_reply_and_a_done_inbox_row(wecom: Harness) -> None:
    # (U+FFFE is not an XML character: such a body is a 400 before anything is stored)
    for text in ("查 \U0010ffff\U0010ffff\U0010ffff\U0010ffff", "\U0010ffff\U0010ffff", "查 \U0010ffffBG260122-0002"):
        assert (await wecom.say("cs01", text)).status == 200
    await wecom.settle()
    texts = wecom.fake.texts_to("cs01")
    assert len(texts) == 3 and all(any("\u4e00" <= c <= "\u9fff" for c in t) for t in texts)
    assert "订单 BG260122-0002" in texts[2]
    assert not any("Traceback" in t or "\U0010ffff" in t for t in texts)
    async with wecom.app.db.session() as s:
        statuses = (await s.scalars(select(InboxMessage.status))).all()
    assert statuses == ["done", "done", "done"]


async def test_a_processor_claims_only_so_far_ahead(wecom: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy process claims at most ``ahead`` rows beyond what it has written; the rest stay
    pending until it has room, and every message is answered."""
    from bot.wecom.processor import InboxProcessor
    from orders import inbox

    asked: list[int] = []
    claim_many = inbox.claim_many

    async def spy(s: Any, ids: list[int], *args: Any, **kwargs: Any) -> Any:
        asked.append(len(ids))
        return await claim_many(s, ids, *args, **kwargs)

    monkeypatch.setattr(inbox, "claim_many", spy)
    users = ["cs01", "cs02", "wh01", "fin01", "ops01"]
    now = wecom.app.clock.now()
    rows = [dict(dedupe_key=f"msg:{700 + i}", msg_id=str(700 + i), user_id=u, kind="text",
                 xml=text_xml(u, "查 BG260122-0004", str(700 + i)), received_at=now) for i, u in enumerate(users)]
    async with wecom.app.db.session() as s:
        ids = await inbox.store_many(s, rows)
    busy = InboxProcessor(wecom.app, wecom.processor.dispatcher, ahead=2)
    for row_id in sorted(ids.values()):
        busy.submit(row_id)
    await busy.drain()
    assert len(asked) >= 3 and max(asked) <= 2 and sum(asked) == 5  # never more than two claimed at once
    async with wecom.app.db.session() as s:
        assert set((await s.scalars(select(InboxMessage.status))).all()) == {"done"}
    await wecom.settle()
    assert all(any("BG260122-0004" in t for t in wecom.fake.texts_to(u)) for u in users)


async def test_a_busy_processor_claims_again_only_when_running_low(wecom: Harness,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With as many claimed as it can run at once, a processor waits, then claims a bigger
    batch (each claim is a write turn with a fixed cost); every message is still answered."""
    from bot.wecom.processor import InboxProcessor
    from orders import inbox

    busy = InboxProcessor(wecom.app, wecom.processor.dispatcher, concurrency=2, ahead=6)
    seen: list[tuple[int, int]] = []  # (claimed before the call, rows asked for)
    claim_many = inbox.claim_many

    async def spy(s: Any, ids: list[int], *args: Any, **kwargs: Any) -> Any:
        seen.append((busy._claimed, len(ids)))
        return await claim_many(s, ids, *args, **kwargs)

    monkeypatch.setattr(inbox, "claim_many", spy)
    users = ["cs01", "cs02", "wh01", "fin01", "ops01"]
    now = wecom.app.clock.now()
    rows = [dict(dedupe_key=f"msg:{800 + i}", msg_id=str(800 + i), user_id=users[i % 5], kind="text",
                 xml=text_xml(users[i % 5], "查 BG260122-0004", str(800 + i)), received_at=now) for i in range(12)]
    async with wecom.app.db.session() as s:
        ids = await inbox.store_many(s, rows)
    for row_id in sorted(ids.values()):
        busy.submit(row_id)
    await busy.drain()
    assert sum(n for _, n in seen) == 12 and max(n for _, n in seen) <= 6
    assert all(before < busy.low for before, _ in seen), seen  # never topped up while enough were claimed
    async with wecom.app.db.session() as s:
        assert set((await s.scalars(select(InboxMessage.status))).all()) == {"done"}
