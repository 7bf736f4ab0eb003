"""Refund amounts exactly as typed: digits, 元/块, Chinese numerals, 全额; every other form refused
with the reason (and the refundable amount), nothing opened."""

from __future__ import annotations

import logging

import pytest

from bot.testing import ChatBot
from orders.aftersales.amounts import parse_amount
from orders.app import App
from orders.errors import InvalidInput
from tests.aftersales.helpers import outbox


@pytest.mark.parametrize(("word", "fen"), [
    ("59.9", 5990), ("59.90", 5990), ("20", 2000), ("20元", 2000), ("20块", 2000), ("￥30", 3000),
    ("１２．５", 1250),  # full-width IME digits
    ("二十", 2000), ("十二块八", 1280), ("十二块八毛", 1280), ("一百零五元五角", 10550), ("十二元八角五分", 1285),
    ("两百", 20000), ("十二点八", 1280), ("二十块钱", 2000), ("12块8", 1280),
])
def test_amount_forms(word: str, fen: int) -> None:
    assert parse_amount(word) == fen


def test_full_amount_word() -> None:
    assert parse_amount("全额") is None  # the caller fills in the refundable amount


@pytest.mark.parametrize(("word", "why"), [
    ("-5", "不能为负数"), ("0", "大于0"), ("0.00", "大于0"), ("1.234", "看不懂"), ("abc", "看不懂"),
    ("二十个", "看不懂"), ("点", "看不懂"), ("5..5", "看不懂"),
])
def test_amount_refusals(word: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        parse_amount(word)


async def test_chinese_amount_is_the_amount_not_the_reason(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "售后 BG260122-0001 退款 二十 少发")
    assert "AS260122-0001（仅退款 20元）" in out
    assert "1. 客服提交" in (detail := await bot.say("cs01", "售后单 AS260122-0001"))
    assert "原因：少发" in detail


async def test_bad_amounts_are_refused_with_the_refundable_amount(bot: ChatBot, app: App,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert "不能为负数" in await bot.say("cs01", "售后 BG260122-0001 退款 -5 测试")
    assert "看不懂" in await bot.say("cs01", "售后 BG260122-0001 退款 1.234 测试")
    assert "需要写金额" in await bot.say("cs01", "售后 BG260122-0001 退款 少发一件")  # never a silent full refund
    assert "需大于0" in await bot.say("cs01", "售后 BG260122-0001 退款 0 测试")
    over = await bot.say("cs01", "售后 BG260122-0001 退款 300 太贵")
    assert "超过可退金额 299.5 元（实付 299.5 元，已退或退款中 0 元）" in over
    assert "refused for cs01" in caplog.text
    assert await outbox(app) == []  # nothing opened, nobody asked
    # an open refund counts against what is left; 全额 takes exactly the rest
    assert "仅退款 200元" in await bot.say("cs01", "售后 BG260122-0001 退款 200 少发")
    assert "超过可退金额 99.5 元" in await bot.say("cs01", "售后 BG260122-0001 补偿 一百 物流慢")
    assert "补偿 99.5元" in await bot.say("cs01", "售后 BG260122-0001 补偿 全额 物流慢")
    assert "已没有可退金额" in await bot.say("cs01", "售后 BG260122-0001 退货 全额 不要了")
