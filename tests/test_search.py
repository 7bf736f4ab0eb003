"""查 by every key a customer gives: hub number or suffix, platform id or suffix (尾号), mobile
(full, last 4, masked), name or nickname, tracking number or suffix; one match, several, none."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.intake_jobs import build_importer
from bot.testing import ChatBot
from orders.app import App
from orders.intake.canonical import CanonOrder
from orders.models import Order, Tracking
from tests.factories import canon

HU = dict(buyer_name="胡女士", buyer_nick="tb_hu2023", phone="18512343681",
          address={"province": "上海市", "city": "上海市", "district": "浦东新区", "detail": "张江路88弄3号楼502室"})


async def add_hu(app: App, order_id: str = "4000123458844458", **over: object) -> str:
    o = CanonOrder.model_validate(canon(order_id, created_at="2026-01-21T10:00:00+08:00", **{**HU, **over}))
    await build_importer(app).import_orders([o])
    async with app.db.session() as s:
        no = await s.scalar(select(Order.order_no).where(Order.channel_order_id == order_id))
    assert no is not None
    return no


@pytest.mark.parametrize("key", ["18512343681", "185 1234 3681", "+8618512343681", "3681", "185****3681",
                                 "胡女士", "tb_hu2023", "TB_HU2023", "4000123458844458", "4458", "尾号4458",
                                 "844458"])
async def test_one_match_by_each_key(bot: ChatBot, app: App, key: str) -> None:
    no = await add_hu(app)
    out = await bot.say("cs01", f"查 {key}")
    assert f"订单 {no}" in out, out
    assert "18512343681" not in out and "胡女士" not in out and "张江路88弄" not in out


async def test_tracking_number_and_suffix(bot: ChatBot, app: App) -> None:
    no = await add_hu(app)
    assert "已登记运单" in await bot.say("wh01", f"运单 {no} 中通 73123456789012")
    assert f"订单 {no}" in await bot.say("cs01", "查 73123456789012")
    assert f"订单 {no}" in await bot.say("cs01", "查 456789012")
    assert "没有找到订单" in await bot.say("cs01", "查 99456789012")


async def test_several_matches_listed_with_what_tells_them_apart(bot: ChatBot) -> None:
    out = await bot.say("cs01", "查 13812345678")  # the six fixed orders share one buyer
    assert "共 6 单" in out and "回复序号" in out
    first = out.splitlines()[1]
    assert first.startswith("1. BG260123-0001 拼多多 张** 138****5678 ￥299.5 支付成功 01-23"), first
    assert "13812345678" not in out


async def test_more_than_ten_matches_are_counted_and_narrowing_hinted(bot: ChatBot, app: App) -> None:
    for i in range(10):
        await add_hu(app, f"77000{i:02d}", phone="13912340000")
    out = await bot.say("cs01", "查 尾号0000")
    assert "共 10 单" in out  # phone last 4 only: 尾号 means suffixes, not the 13912340000 hash
    await add_hu(app, "7700099", phone="13912340000")
    out = await bot.say("cs01", "查 13912340000")
    assert "共 11 单" in out and "缩小范围" in out and out.count("\n1") >= 1
    assert len([ln for ln in out.splitlines() if ln[:2].rstrip(".").isdigit()]) == 10


async def test_no_match_names_the_keys_and_masks_the_number(bot: ChatBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    out = await bot.say("cs01", "查 19912345678")
    assert "没有找到订单「199****5678」" in out and "手机号" in out
    assert "19912345678" not in caplog.text
    assert "没有找到订单" in await bot.say("cs01", "查 不存在的人")
    assert "至少4位尾号" in await bot.say("cs01", "查 12")


async def test_search_keys_stored_without_plain_nickname(app: App) -> None:
    no = await add_hu(app)
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.order_no == no))
    assert o is not None
    assert (o.phone_last4, o.phone_masked, o.channel_order_id_rev) == ("3681", "185****3681", "4000123458844458"[::-1])
    assert o.name_hash and o.nick_hash and o.phone_hash
    assert "tb_hu2023" not in repr({c.name: getattr(o, c.name) for c in Order.__table__.columns})


async def test_masked_platform_phone_matched_on_what_it_gives(bot: ChatBot, app: App) -> None:
    no = await add_hu(app, "PDD-9001", channel="pdd", phone="185****3681", buyer_name="胡*")
    out = await bot.say("cs01", "查 185****3681")
    assert f"订单 {no}" in out
    assert "没有找到" in await bot.say("cs01", "查 胡*")


async def test_bulk_inserted_tracking_gets_its_suffix_key(bot: ChatBot, app: App) -> None:
    from datetime import UTC, datetime

    from orders.intake.bulk import insert_many

    async with app.db.session() as s:
        oid = await s.scalar(select(Order.id).where(Order.order_no == "BG260122-0002"))
        await insert_many(s, Tracking.__table__, [dict(order_id=oid, carrier="中通", number="78000011112222",
                                                       created_at=datetime(2026, 1, 22, tzinfo=UTC))])
    assert "订单 BG260122-0002" in await bot.say("cs01", "查 11112222")


async def test_a_secret_rotation_drops_nickname_search_until_the_platform_sends_the_order_again(
        bot: ChatBot, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The nickname is not kept, so `orderbot keys rotate` cannot re-key its hash: it clears it
    (an old-key hash would never match again); name and mobile keys are re-keyed and still find
    the order, and the next import of the order writes the nickname key under the new secret."""
    from orders import crypto
    from orders.rotation import rotate_keys

    no = await add_hu(app)
    try:
        monkeypatch.setenv(crypto.ENV_DATA, "")  # data key derived from the secret, re-encrypted too
        monkeypatch.setenv(crypto.ENV_SECRET_OLD, crypto.keyring().secret.decode())
        monkeypatch.setenv(crypto.ENV_SECRET, "a-brand-new-secret")
        done = await rotate_keys(app.db)
        assert done.nick_dropped == 1
        monkeypatch.delenv(crypto.ENV_SECRET_OLD)
        crypto.reload()
        assert "没有找到订单" in await bot.say("cs01", "查 tb_hu2023")
        for key in ("胡女士", "18512343681", "185****3681"):
            assert f"订单 {no}" in await bot.say("cs01", f"查 {key}"), key
        assert await add_hu(app) == no  # the platform sends it again (an update, not a new order)
        assert f"订单 {no}" in await bot.say("cs01", "查 tb_hu2023")
        assert (await rotate_keys(app.db)).nick_dropped == 0  # no old secret: nothing to re-key, kept
        assert f"订单 {no}" in await bot.say("cs01", "查 tb_hu2023")
    finally:
        monkeypatch.undo()
        crypto.reload()
