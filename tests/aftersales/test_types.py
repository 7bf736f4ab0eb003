"""Types and chains from approvals.yaml: each type shipped / unshipped, the hold on an unshipped
refund, linked shipment orders for 换货 / 补发, parallel cases of different types, the photo rule."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.testing import ChatBot
from orders.aftersales.models import AfterSalesCase
from orders.app import App
from orders.intake.canonical import CanonOrder
from orders.intake.importer import Importer
from orders.models import Order, UserFocus
from orders.warehouse.holds import Hold, holds_of
from orders.warehouse.models import WarehouseTask
from tests.aftersales.helpers import order_id, outbox, photo, ship
from tests.factories import canon

CHAINS = [  # (type word, shipped?, the steps 售后单 lists)
    ("仅退款 10", False, ["客服提交", "财务核对"]),
    ("退款 10", True, ["客服提交", "客服组长审核", "财务核对"]),
    ("退货退款 10", False, ["客服提交", "财务核对"]),
    ("退货 10", True, ["客服提交", "仓管确认实物入库", "财务核对"]),
    ("换货", True, ["客服提交", "仓管确认实物入库"]),
    ("补发", True, ["客服提交", "仓管确认出库"]),
    ("补偿 5", False, ["客服提交", "财务核对"]),
    ("赔付 5", True, ["客服提交", "财务核对"]),
]


async def _order(app: App, no: str) -> Order:
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.order_no == no))
        assert o is not None
        return o


@pytest.mark.parametrize(("words", "shipped", "steps"), CHAINS)
async def test_chain_by_type_and_shipping(bot: ChatBot, app: App, words: str, shipped: bool, steps: list[str]) -> None:
    if shipped:
        await ship(bot, "BG260122-0001", 4)
    assert "已发起售后单 AS260122-0001" in await bot.say("cs01", f"售后 BG260122-0001 {words} 尺码不对")
    detail = await bot.say("cs01", "售后单 AS260122-0001")
    listed = [ln.split("：")[0].split(". ", 1)[1] for ln in detail.splitlines() if ln[:1].isdigit()]
    assert listed == steps


@pytest.mark.parametrize("word", ["换货", "补发"])
async def test_exchange_and_resend_need_a_shipped_order(bot: ChatBot, app: App, word: str) -> None:
    out = await bot.say("cs01", f"售后 BG260122-0001 {word} 尺码不对")
    assert "尚未发货" in out and "不能发起" in out and "仅退款" in out
    assert await outbox(app) == []


async def test_unshipped_refund_holds_the_order_until_decided(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "售后 BG260122-0001 退款 10 少发")
    assert "订单已暂停发货" in out and "吴财务" in out
    assert "拦截:仅退款 AS260122-0001" in (await _order(app, "BG260122-0001")).flags
    async with app.db.session() as s:  # the warehouse sees one hold, named by the case
        assert [h.reason for h in await holds_of(s, await _order(app, "BG260122-0001"))] == \
            ["拦截：仅退款 AS260122-0001"]
    # the platform re-sends the order with its own refunding flag: the hub's hold stays
    await Importer(app.db, app.clock, app.workflows, app.settings.tz).import_orders(
        [CanonOrder.model_validate(canon("T1001", flags=["退款中"]))])
    assert (await _order(app, "BG260122-0001")).flags == ["拦截:仅退款 AS260122-0001", "退款中"]
    await bot.say("fin01", "通过 AS260122-0001")
    order = await _order(app, "BG260122-0001")
    assert "拦截:仅退款 AS260122-0001" not in order.flags and order.status == "支付成功"
    async with app.db.session() as s:
        assert await holds_of(s, order) == [Hold("refund", "平台退款中", "退款中")]  # only the platform's own
    history = await bot.say("cs01", "轨迹 BG260122-0001")
    assert "暂停发货" in history and "解除暂停" in history


async def test_full_refund_before_shipping_cancels_the_order(bot: ChatBot, app: App) -> None:
    await bot.say("cs01", "售后 BG260122-0002 仅退款 全额 不想要了")
    out = await bot.say("fin01", "通过 AS260122-0001")
    assert "299.5 元已记入财务" in out and "已取消" in out
    order = await _order(app, "BG260122-0002")
    assert order.status == "已取消" and not [f for f in order.flags if f.startswith("拦截:")]


async def test_rejected_refund_releases_the_hold(bot: ChatBot, app: App) -> None:
    await bot.say("cs01", "售后 BG260122-0003 退款 10 少发")
    await bot.say("fin01", "驳回 AS260122-0001 买家已撤销")
    assert (await _order(app, "BG260122-0003")).flags == []


async def test_approved_exchange_creates_a_linked_shipment_order(bot: ChatBot, app: App) -> None:
    await ship(bot, "BG260122-0001", 4)
    await bot.say("cs01", "售后 BG260122-0001 换货 尺码偏小")
    await photo(app, "BG260122-0001")
    out = await bot.say("wh01", "通过 AS260122-0001")
    assert "已建发货单 BG260122-0006（仓库分单）" in out  # its own number, the next of the day
    new = await _order(app, "BG260122-0006")
    assert new.status == "仓库分单" and new.paid_fen == 0 and new.buyer_name == "张三丰"
    assert "换货 AS260122-0001，原订单 BG260122-0001" in new.note
    async with app.db.session() as s:
        case = await s.scalar(select(AfterSalesCase))
        assert case is not None and case.linked_order_id == new.id and case.refund_fen == 0
        task = await s.scalar(select(WarehouseTask).where(WarehouseTask.order_id == new.id))
        assert task is not None  # assigned to a temp like any order entering 仓库分单
    assert "售后发货单" in (h := await bot.say("cs01", "轨迹 BG260122-0001")) and "BG260122-0006" in h
    assert "原订单 BG260122-0001" in await bot.say("cs01", "轨迹 BG260122-0006")
    assert "发货单：BG260122-0006" in await bot.say("cs01", "售后单 AS260122-0001")
    assert (await _order(app, "BG260122-0001")).status == "物流揽收"


async def test_resend_creates_a_shipment_too(bot: ChatBot, app: App) -> None:
    await ship(bot, "BG260122-0002", 5)
    await bot.say("cs01", "售后 BG260122-0002 补发 漏发袜子")
    assert "已建发货单 BG260122-0006" in await bot.say("wh01", "通过 AS260122-0001")


async def test_parallel_cases_of_different_types(bot: ChatBot, app: App) -> None:
    await ship(bot, "BG260122-0001", 5)
    assert "AS260122-0001" in await bot.say("cs01", "售后 BG260122-0001 换货 尺码偏小")
    assert "AS260122-0002" in await bot.say("cs01", "售后 BG260122-0001 补偿 10 物流慢")
    assert "AS260122-0003" in await bot.say("cs02", "售后 BG260122-0001 退款 20 少发")
    busy = await bot.say("cs02", "售后 BG260122-0001 赔付 5 态度差")
    assert "已有进行中的补偿售后单 AS260122-0002" in busy
    await bot.say("fin01", "通过 AS260122-0002")
    assert "AS260122-0004" in await bot.say("cs02", "售后 BG260122-0001 赔付 5 态度差")


async def test_a_step_can_require_a_photo(bot: ChatBot, app: App) -> None:
    await ship(bot, "BG260122-0004", 4)
    await bot.say("cs01", "售后 BG260122-0004 退货 全额 破损")
    out = await bot.say("wh01", "通过 AS260122-0001")
    assert "需要先上传照片" in out and "BG260122-0004" in out
    async with app.db.session() as s:
        focus = await s.get(UserFocus, "wh01")  # the next image wh01 sends is kept on this order
        assert focus is not None and focus.order_id == await order_id(app, "BG260122-0004")
    await photo(app, "BG260122-0004")
    assert "已转「财务核对」" in await bot.say("wh01", "通过 AS260122-0001")
