"""Each channel's API payload through its adapter into the hub: states, flags, amounts, ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orders.app import App
from orders.finance.tracing import MISMATCH_FLAG
from orders.intake.channels import AdapterError
from orders.models import Discount
from tests.fakes import payloads as P
from tests.intake.helpers import channels, events_of, order_of, pull_in


@pytest.mark.parametrize(("channel", "payload"), [
    ("taobao", P.taobao("TB1")), ("pdd", P.pdd("PDD1")), ("douyin", P.douyin("DY1")), ("jd", P.jd("JD1")),
    ("youzan", P.youzan("YZ1")),
])
async def test_each_channel_lands_with_ledger_and_adds_up(app: App, channel: str, payload: dict) -> None:
    rep = await pull_in(app, channel, payload)
    assert (rep.added, rep.failed) == (1, 0), rep.rejects
    oid = {"taobao": "TB1", "pdd": "PDD1", "douyin": "DY1", "jd": "JD1", "youzan": "YZ1"}[channel]
    o = await order_of(app, channel, oid)
    assert o.status == "支付成功"
    assert (o.goods_total_fen, o.discount_total_fen, o.paid_fen, o.amount_diff_fen) == (35800, 6280, 29520, 0)
    assert MISMATCH_FLAG not in o.flags
    async with app.db.session() as s:
        ledger = (await s.scalars(select(Discount).where(Discount.order_id == o.id))).all()
    assert sorted(d.amount_fen for d in ledger) == [1280, 5000]
    assert all(d.source for d in ledger)


async def test_reimport_changes_nothing(app: App) -> None:
    await pull_in(app, "taobao", P.taobao("TB2"))
    o = await order_of(app, "taobao", "TB2")
    before = len(await events_of(app, o.id))
    rep = await pull_in(app, "taobao", P.taobao("TB2"))
    assert (rep.added, rep.unchanged, rep.moved, rep.updated) == (0, 1, 0, 0)
    again = await order_of(app, "taobao", "TB2")
    assert again.version == o.version and len(await events_of(app, o.id)) == before


async def test_taobao_paid_refunding_closed_moves_with_source_import(app: App) -> None:
    await pull_in(app, "taobao", P.taobao("TB3"))
    rep = await pull_in(app, "taobao", P.taobao("TB3", refund="WAIT_SELLER_AGREE"))
    assert rep.updated == 1
    o = await order_of(app, "taobao", "TB3")
    assert o.status == "支付成功" and "退款中" in o.flags  # overlay, the state is kept
    rep = await pull_in(app, "taobao", P.taobao("TB3", "TRADE_CLOSED", refund="SUCCESS"))
    assert rep.moved == 1
    o = await order_of(app, "taobao", "TB3")
    assert o.status == "已取消" and "退款中" not in o.flags  # closed before shipping = cancelled
    evs = await events_of(app, o.id)
    moved = [e for e in evs if e.kind == "state_changed"]
    assert [(e.from_state, e.to_state, e.source) for e in moved] == [("支付成功", "已取消", "import")]


async def test_shipped_status_walks_the_workflow_and_tells_the_lead(app: App) -> None:
    await pull_in(app, "taobao", P.taobao("TB4"))
    await pull_in(app, "taobao", P.taobao("TB4", "WAIT_BUYER_CONFIRM_GOODS"))
    o = await order_of(app, "taobao", "TB4")
    assert o.status == "物流揽收"
    steps = [e.to_state for e in await events_of(app, o.id) if e.kind == "state_changed"]
    assert steps == ["仓库分单", "拣货中", "打包完成", "物流揽收"]
    # a platform status behind the hub's state does not move it back
    rep = await pull_in(app, "taobao", P.taobao("TB4", "SELLER_CONSIGNED_PART"))
    assert rep.updated == 1 and (await order_of(app, "taobao", "TB4")).status == "物流揽收"


async def test_holds_are_flags_beside_the_state(app: App) -> None:
    await pull_in(app, "pdd", P.pdd("PDD2", group_status=0, risk=1))
    o = await order_of(app, "pdd", "PDD2")
    assert o.status == "支付成功" and {"暂停:拼团中", "暂停:风控审核"} <= set(o.flags)
    assert o.phone_masked == "138****5678" and o.phone_hash == ""  # only the mask is known
    await pull_in(app, "pdd", P.pdd("PDD2", group_status=1))
    o = await order_of(app, "pdd", "PDD2")
    assert not [f for f in o.flags if f.startswith("暂停:")]
    await pull_in(app, "taobao", P.taobao("TB5", "PAID_FORBID_CONSIGN"))
    assert "暂停:禁止发货" in (await order_of(app, "taobao", "TB5")).flags


async def test_douyin_withdrawn_after_sale_is_not_refunding(app: App) -> None:
    await pull_in(app, "douyin", P.douyin("DY2", after_sale=6, refund=1))
    assert "退款中" in (await order_of(app, "douyin", "DY2")).flags
    await pull_in(app, "douyin", P.douyin("DY2", after_sale=28, refund=1))  # withdrawn; refund_status stays 1
    assert "退款中" not in (await order_of(app, "douyin", "DY2")).flags


async def test_pdd_refunded_after_shipping_closes(app: App) -> None:
    await pull_in(app, "pdd", P.pdd("PDD3", 2, shipped=True))
    await pull_in(app, "pdd", P.pdd("PDD3", 3, refund_status=4, shipped=True))
    assert (await order_of(app, "pdd", "PDD3")).status == "售后关闭"


async def test_unpaid_orders_are_skipped_and_counted(app: App) -> None:
    rep = await pull_in(app, "youzan", P.youzan("YZ2", "WAIT_BUYER_PAY"))
    rep2 = await pull_in(app, "douyin", P.douyin("DY3", 1))
    assert (rep.added, rep.skipped, rep.failed, rep2.skipped) == (0, 1, 0, 1)


async def test_payload_of_another_platform_is_rejected(app: App) -> None:
    rep = await pull_in(app, "youzan", P.douyin("DY4"))
    assert rep.added == 0 and rep.rejects[0].reason == "required field missing"


async def test_bad_payloads_are_rejected_with_field_and_reason(app: App) -> None:
    bad_status = P.taobao("TB6", "WAIT_SOMETHING_NEW")
    no_tid = P.taobao("TB7")
    del no_tid["tid"]
    wrong_type = P.pdd("PDD4")
    wrong_type["item_list"][0]["goods_count"] = "two"
    bad_coupon = P.jd("JD2", coupon_type="999")
    rep = await pull_in(app, "taobao", bad_status, no_tid, P.taobao("TB8"))
    assert rep.added == 1
    assert [(r.row, r.field) for r in rep.rejects] == [(1, "status"), (2, "tid")]
    assert "unknown status code 'WAIT_SOMETHING_NEW'" in rep.rejects[0].reason
    rep = await pull_in(app, "pdd", wrong_type)
    assert rep.rejects[0].field == "item_list.0.goods_count"
    with pytest.raises(AdapterError, match="unknown coupon type"):
        channels(app).adapt("jd", bad_coupon)


async def test_amounts_that_do_not_add_up_are_flagged_with_the_difference(app: App) -> None:
    rep = await pull_in(app, "taobao", P.taobao("TB9", payment=29500))  # 0.20 short
    assert rep.flagged_amount == 1
    o = await order_of(app, "taobao", "TB9")
    assert MISMATCH_FLAG in o.flags and o.amount_diff_fen == -20
    ev = [e for e in await events_of(app, o.id) if e.kind == "flagged"]
    assert ev[0].detail["diff"] == "-0.2"


async def test_same_order_twice_in_one_batch(app: App) -> None:
    rep = await pull_in(app, "taobao", P.taobao("TB10"), P.taobao("TB10"),
                        P.taobao("TB10", "WAIT_BUYER_CONFIRM_GOODS"))
    assert (rep.added, rep.unchanged, rep.failed) == (1, 1, 1)
    assert "different content" in rep.rejects[0].reason and rep.rejects[0].row == 3
