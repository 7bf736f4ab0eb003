"""查 and 轨迹 against a real SQLite file."""

from __future__ import annotations

from bot.testing import ChatBot


async def test_query_full_number_shows_state_amounts_and_masks(bot: ChatBot) -> None:
    out = await bot.say("cs01", "查 BG260122-0001")
    assert "订单 BG260122-0001 · 淘宝" in out
    assert "状态：支付成功" in out
    assert "138****5678" in out and "13812345678" not in out
    assert "张**" in out and "张三丰" not in out
    assert "文三路100号3幢" not in out
    assert "实付 299.5 元" in out
    assert "导入" in out  # the import timeline entry


async def test_query_unique_suffix(bot: ChatBot) -> None:
    out = await bot.say("cs01", "查 22-0003")
    assert "订单 BG260122-0003" in out


async def test_query_ambiguous_suffix_lists_candidates(bot: ChatBot) -> None:
    out = await bot.say("cs01", "查 0001")
    assert "匹配到多个订单" in out
    assert "BG260122-0001" in out and "BG260123-0001" in out


async def test_query_without_space_and_by_platform_id(bot: ChatBot) -> None:
    assert "订单 BG260122-0002" in await bot.say("cs01", "查BG260122-0002")
    assert "订单 BG260122-0004" in await bot.say("cs01", "查 T1004")


async def test_query_unknown_and_short(bot: ChatBot) -> None:
    assert "没有找到订单「BG999999-0001」" in await bot.say("cs01", "查 BG999999-0001")
    assert "至少4位尾号" in await bot.say("cs01", "查 01")
    assert "请提供订单号" in await bot.say("cs01", "查")
