"""After-sales cases: opening, the three-step chain, rejection, and the bad inputs."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.testing import ChatBot
from bot.types import Incoming
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.app import App
from orders.clock import ManualClock
from orders.due import DueItem
from orders.models import Order
from orders.users import upsert_user
from orders.warehouse.evidence import attach
from tests.aftersales.helpers import card_of, last_id, outbox, photo, press, ship


async def test_full_three_step_happy_path(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await ship(bot, "BG260122-0001")
    out = await bot.say("cs01", "售后 BG260122-0001 退货 59.9 尺码不合适")
    assert "已发起售后单 AS260122-0001（退货退款 59.9元）" in out and "仓管确认实物入库" in out
    cards = await outbox(app, "template_card")
    assert len(cards) == 1 and cards[0].target == "wh01"
    card = card_of(cards[0])
    fields = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
    assert fields["订单"] == "BG260122-0001" and fields["类型"] == "退货退款 59.9元" and fields["原因"] == "尺码不合适"
    assert fields["照片"] == "无（本步需拍照）" and fields["申请人"] == "李客服"
    assert card["main_title"]["desc"] == "第2/3步 · 4工作小时内（01-22 14:00前）"

    clock.advance(timedelta(minutes=30))
    await photo(app, "BG260122-0001")
    mark = await last_id(app)
    assert "已转「财务核对」" in await press(bot, "wh01", card, "通过", code="RC-wh")
    upd = await outbox(app, "update_card", since=mark)
    assert len(upd) == 1 and upd[0].target == "wh01"
    assert upd[0].payload["response_code"] == "RC-wh"
    assert upd[0].payload["replace_name"] == "已通过 · 孙仓管 · 10:30"
    fin_card = (await outbox(app, "template_card", since=mark))[0]
    assert fin_card.target == "fin01"
    texts = [r.payload["content"] for r in await outbox(app, "text", since=mark) if r.target == "cs01"]
    assert any("转「财务核对」" in t for t in texts)

    clock.advance(timedelta(minutes=30))
    out = await bot.say("fin01", "通过 AS260122-0001")
    assert "审批完成" in out and "59.9 元已记入财务" in out and "售后关闭" in out
    async with app.db.session() as s:
        case = await s.scalar(select(AfterSalesCase))
        assert case is not None
        assert case.status == "approved" and case.refund_fen == 5990 and case.closed_by == "fin01"
        order = await s.scalar(select(Order).where(Order.order_no == "BG260122-0001"))
        assert order is not None and order.status == "售后关闭"
        pending = (await s.scalars(select(DueItem).where(DueItem.state == "due"))).all()
        assert pending == []  # every deadline cancelled by the decisions
    history = await bot.say("cs01", "轨迹 BG260122-0001")
    assert "李客服 售后申请" in history and "孙仓管 售后通过" in history and "吴财务 售后通过" in history
    assert "10:00" in history and "10:30" in history and "11:00" in history
    assert "售后关闭" in history
    assert "已通过" in await bot.say("cs01", "售后单 AS260122-0001")


async def test_rejection_at_step_two_ends_case(bot: ChatBot, app: App) -> None:
    await ship(bot, "BG260122-0002", 4)
    await bot.say("cs01", "售后 BG260122-0002 退货 全额 发错颜色")
    card = card_of((await outbox(app, "template_card"))[0])
    mark = await last_id(app)
    out = await press(bot, "wh01", card, "驳回")
    assert "请直接回复驳回" in out
    assert "订单 BG260122-0002" in await bot.say("wh01", "查BG260122-0002")  # a command, not the reason
    assert "已驳回售后单 AS260122-0001" in await bot.say("wh01", "没有收到退回的包裹")
    msgs = await outbox(app, since=mark)
    assert [m.msgtype for m in msgs if m.msgtype == "template_card"] == []  # finance never asked
    to_cs = [m.payload["content"] for m in msgs if m.msgtype == "text" and m.target == "cs01"]
    assert to_cs and "没有收到退回的包裹" in to_cs[0] and "孙仓管" in to_cs[0]
    async with app.db.session() as s:
        case = await s.scalar(select(AfterSalesCase))
        assert case is not None and case.status == "rejected" and case.refund_fen == 0
        steps = (await s.scalars(select(ApprovalStep).order_by(ApprovalStep.idx))).all()
        assert [st.state for st in steps] == ["approved", "rejected", "waiting"]
        order = await s.scalar(select(Order).where(Order.order_no == "BG260122-0002"))
        assert order is not None and order.status == "物流揽收"
    assert "售后驳回" in await bot.say("cs01", "轨迹 BG260122-0002")
    # already decided: text and a second press both refused, nothing new written
    mark = await last_id(app)
    assert "已处理（驳回 · 孙仓管" in await bot.say("wh01", "通过 AS260122-0001")
    assert "已处理" in await press(bot, "wh01", card, "通过")
    assert await outbox(app, since=mark) == []


async def test_second_press_and_not_yours(bot: ChatBot, app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await ship(bot, "BG260122-0003")
    await bot.say("cs01", "售后 BG260122-0003 退货 二十 尺码偏小")
    await photo(app, "BG260122-0003")
    card = card_of((await outbox(app, "template_card"))[0])
    mark = await last_id(app)
    refused = await bot.say("fin01", "通过 AS260122-0001")
    assert "由 孙仓管 审批；超时后可由仓库主管处理" in refused and "您不能处理" in refused and "wh01" not in refused
    assert "您不能处理" in await bot.say("cslead", "通过 AS260122-0001")
    assert "您不能处理" in await press(bot, "cs02", card, "通过")
    assert await outbox(app, since=mark) == []
    assert "已转「财务核对」" in await press(bot, "wh01", card, "通过")
    mark = await last_id(app)
    again = await press(bot, "wh01", card, "通过")
    assert "已处理（通过 · 孙仓管" in again and "当前步骤：财务核对" in again
    assert await outbox(app, since=mark) == []
    assert "refused for fin01" in caplog.text and "refused for wh01" in caplog.text


async def test_unknown_case_and_bad_input(bot: ChatBot, app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert "没有找到售后单「AS999999-0001」" in await bot.say("wh01", "通过 AS999999-0001")
    assert "refused for wh01: 没有找到售后单" in caplog.text
    assert "没有找到售后单" in await bot.say("wh01", "驳回 AS999999-0001 不对")
    assert "用法：驳回 <售后单号> <原因>" in await bot.say("wh01", "驳回 AS999999-0001")
    assert "这个按钮已失效" in "\n".join(r.as_text() for r in await bot.send(Incoming(
        user_id="wh01", kind="card_action", event="template_card_event", event_key="as_ok:garbage")))
    assert "售后类型" in await bot.say("cs01", "售后 BG260122-0001 退钱 不想要了")
    assert "用法" in await bot.say("cs01", "售后 BG260122-0001")
    assert "超过可退金额 299.5 元" in await bot.say("cs01", "售后 BG260122-0001 退款 1000 太贵")
    assert "补偿需要写金额" in await bot.say("cs01", "售后 BG260122-0001 补偿 物流慢")
    assert "没有找到订单" in await bot.say("cs01", "售后 BG999999-0001 退款 1 不要了")
    assert "不能使用「售后」" in await bot.say("wh01", "售后 BG260122-0001 退款 1 不要了")
    assert await outbox(app) == []
    assert "AS260122-0001" in await bot.say("cs01", "售后 BG260122-0001 退款 10 不要了")
    busy = await bot.say("cs02", "售后 BG260122-0001 退款 10 不要了")
    assert "已有进行中的仅退款售后单 AS260122-0001" in busy


async def test_card_shows_evidence_and_tracking(bot: ChatBot, app: App) -> None:
    async with app.db.session() as s:
        order = await s.scalar(select(Order).where(Order.order_no == "BG260122-0004"))
        assert order is not None
    await attach(app.db, app.clock, app.settings.data_dir, order.id, b"\xff\xd8 a photo", actor="cs01",
                 actor_name="李客服", source="chat", media_id="MEDIA1")
    await bot.say("admin", "运单 BG260122-0004 中通 73123456789012")
    await ship(bot, "BG260122-0004", 4)
    await bot.say("cs01", "售后 BG260122-0004 退货 全额 破损")
    card = card_of((await outbox(app, "template_card"))[0])
    fields = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
    assert fields["照片"] == "1张（本步需拍照）" and fields["运单"] == "73123456789012"  # the whole number
    assert "运单：中通 73123456789012" in card["quote_area"]["quote_text"]
    assert "最新照片：evidence/BG260122-0004/" in card["quote_area"]["quote_text"]
    assert fields["类型"] == "退货退款 299.5元"  # 全额: the whole refundable amount


async def test_outcome_not_allowed_by_workflow_is_recorded(bot: ChatBot, app: App) -> None:
    await ship(bot, "BG260122-0005", 4)
    await bot.say("admin", "推进 BG260122-0005 签收确认")
    await bot.say("admin", "推进 BG260122-0005 售后关闭")
    await bot.say("cs01", "售后 BG260122-0005 退货 10 拍错了")  # shipped; but 售后关闭 is final
    await photo(app, "BG260122-0005")
    await bot.say("wh01", "通过 AS260122-0001")
    out = await bot.say("fin01", "通过 AS260122-0001")
    assert "订单已在「售后关闭」" in out


async def test_two_approvers_pressing_at_once_decide_once(bot: ChatBot, app: App) -> None:
    async with app.db.session() as s:
        await upsert_user(s, app.roles, user_id="wh02", name="冯仓管", roles=["warehouse"], department="仓储部",
                          now=app.clock.now())
    await ship(bot, "BG260122-0001", 4)
    await bot.say("cs01", "售后 BG260122-0001 退货 10 发错颜色")
    await photo(app, "BG260122-0001")
    card_row = (await outbox(app, "template_card"))[0]
    assert card_row.target == "wh01|wh02"
    card = card_of(card_row)
    mark = await last_id(app)
    a, b = await asyncio.gather(press(bot, "wh01", card, "通过"), press(bot, "wh02", card, "通过"))
    assert sorted(["已转「财务核对」" in a, "已转「财务核对」" in b]) == [False, True]
    assert "已处理" in (b if "已转" in a else a)
    rows = await outbox(app, since=mark)
    assert [r.msgtype for r in rows].count("template_card") == 1  # finance asked once
    upd = [r for r in rows if r.msgtype == "update_card"]
    assert len(upd) == 1 and upd[0].target == "wh01|wh02"


async def test_card_shows_the_latest_carrier_scans(bot: ChatBot, app: App) -> None:
    from orders.intake.carriers import CarrierEvent
    from orders.intake.carriers.apply import apply_event

    await ship(bot, "BG260122-0003", 3)  # 打包完成
    await bot.say("admin", "运单 BG260122-0003 zto 73123456789012")
    for kind, code, label, t in (("picked_up", "1", "已揽收", "2026-01-22 11:00:00"),
                                 ("signed", "3", "已签收", "2026-01-22 16:00:00")):
        ev = CarrierEvent(carrier="kuaidi100", company="zhongtong", number="73123456789012", kind=kind, code=code,
                          label=label, event_time=t)
        assert await apply_event(app.orders, ev) == "moved"
    await bot.say("cs01", "售后 BG260122-0003 退货 全额 破损")
    quote = card_of((await outbox(app, "template_card"))[0])["quote_area"]["quote_text"]
    assert "运单：zto 73123456789012" in quote  # the whole number
    scans = [ln for ln in quote.splitlines() if ln.startswith("物流：")]
    assert len(scans) == 2 and scans[0].endswith("已签收") and scans[1].endswith("已揽收")
