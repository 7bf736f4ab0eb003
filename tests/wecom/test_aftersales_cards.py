"""After-sales approval over WeCom: the card goes out, a decision typed as text greys it with the
response code WeCom returned when the card was sent; a button press uses the press's own code."""

from __future__ import annotations

from tests.wecom.harness import Harness, card_xml

# 仅退款 on a shipped order (config/approvals.yaml): 客服提交 (cs01) → 客服组长审核 (cslead) → 财务核对 (fin01).


async def test_typed_decision_updates_the_card_with_the_code_from_sending(wecom: Harness) -> None:
    for _ in range(4):  # → 物流揽收: shipped
        await wecom.say("admin", "推进 BG260122-0001")
        await wecom.settle()
    await wecom.say("cs01", "售后 BG260122-0001 退款 59.9 尺码不合适")
    await wecom.settle()
    cards = wecom.fake.sent("message/send")
    cards = [c for c in cards if c.body.get("msgtype") == "template_card"]
    assert len(cards) == 1 and cards[0].body["touser"] == "cslead"
    issued = cards[0].answer["response_code"]

    await wecom.say("cslead", "通过 AS260122-0001")
    await wecom.settle()
    updates = wecom.fake.sent("message/update_template_card")
    assert len(updates) == 1
    assert updates[0].body["response_code"] == issued
    assert updates[0].body["userids"] == ["cslead"]
    assert updates[0].body["button"]["replace_name"].startswith("已通过")

    # step 3 over WeCom too: finance gets its card and presses 通过; the case closes
    fin = [c for c in wecom.fake.sent() if c.body.get("msgtype") == "template_card" and c.body["touser"] == "fin01"]
    assert len(fin) == 1
    tc = fin[0].body["template_card"]
    ok = next(b["key"] for b in tc["button_list"] if b["text"] == "通过")
    await wecom.post(card_xml("fin01", ok, tc["task_id"], "rc-fin", 1769047950))
    await wecom.settle()
    assert "审批完成" in wecom.fake.texts_to("fin01")[-1]
    assert any("AS260122-0001" in t for t in wecom.fake.texts_to("cs01"))


async def test_pressed_decision_uses_the_press_code(wecom: Harness) -> None:
    await wecom.say("cs01", "售后 BG260122-0002 退款 10 发错颜色")  # unshipped: 客服 → 财务
    await wecom.settle()
    card = next(c for c in wecom.fake.sent("message/send") if c.body.get("msgtype") == "template_card")
    tc = card.body["template_card"]
    ok = next(b["key"] for b in tc["button_list"] if b["text"] == "通过")
    await wecom.post(card_xml("fin01", ok, tc["task_id"], "rc-press", 1769047900))
    await wecom.settle()
    updates = wecom.fake.sent("message/update_template_card")
    assert [u.body["response_code"] for u in updates] == ["rc-press"]
