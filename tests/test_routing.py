"""Every message is normalised before routing; bare keys and short questions are a 查; a list
is answered by its number; greetings; no input crashes the dispatcher or the console; replies
never echo a full mobile, ID number or street address."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.console import run_console
from bot.testing import ChatBot
from orders.app import App
from orders.models import Order, User
from orders.textnorm import normalize_text, split_list

IME = [
    ("查　８８１２", "查 8812"),
    ("查 BG261127－0066", "查 BG261127-0066"),
    ("查 BG261127-0066。", "查 BG261127-0066"),
    ("查ＢＧ２６１１２７－００６６？", "查BG261127-0066"),
    ("用户 添加 kf2 小王 客服，财务", "用户 添加 kf2 小王 客服,财务"),
    ("备注 8812 周末送：（门卫代收）；", "备注 8812 周末送:(门卫代收)"),
    ("查\u200b 8812\u200d\ufeff", "查 8812"),
    ("查 88\x0012\x07", "查 8812"),
    ("查 8812\U0010ffff\ud800\ufffe", "查 8812"),
    ("  查\t8812\n", "查 8812"),
    ("？", "?"),
    ("。。。", "。。。"),
    ("", ""),
]


@pytest.mark.parametrize(("typed", "seen"), IME)
def test_normaliser_table(typed: str, seen: str) -> None:
    assert normalize_text(typed) == seen


def test_list_separators() -> None:
    assert split_list("客服,财务、运营，cs; ops") == ["客服", "财务", "运营", "cs", "ops"]


@pytest.mark.parametrize("typed", ["查　ＢＧ２６０１２２－０００３", "查 BG260122－0003。", "查询 22-0003",
                                   "查单 BG260122-0003", "查看 T1003", "BG260122-0003", "22-0003 这单到哪了",
                                   "查一下 22-0003", "BG260122-0003到哪了", "T1003", "  bg260122-0003 ！"])
async def test_ime_input_aliases_bare_keys_and_questions_are_a_query(bot: ChatBot, typed: str) -> None:
    assert "订单 BG260122-0003" in await bot.say("cs01", typed)


async def test_not_a_question_is_still_unknown(bot: ChatBot) -> None:
    out = await bot.say("cs01", "退款 22-0003 怎么处理比较好呢")
    assert "不认识的命令" in out and "订单 BG260122" not in out


async def test_full_width_comma_and_dunhao_separate_roles(bot: ChatBot, app: App) -> None:
    assert "✅" in await bot.say("admin", "用户 添加 kf2 小王 客服，财务")
    assert "✅" in await bot.say("admin", "用户 添加 kf3 小李 客服、运营")
    async with app.db.session() as s:
        u, v = await s.get(User, "kf2"), await s.get(User, "kf3")
    assert u is not None and set(u.roles) == {"cs", "finance"}
    assert v is not None and set(v.roles) == {"cs", "ops"}


async def test_choose_from_list_by_number(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "查 0001")
    assert "1. BG260123-0001" in out and "2. BG260122-0001" in out
    assert "订单 BG260122-0001 ·" in await bot.say("cs01", "２")  # full-width digit too
    assert "不认识的命令" in await bot.say("cs01", "2")  # the list was used up
    await bot.say("cs01", "推进 0001")
    assert "请回复列表中的序号 1–2" in await bot.say("cs01", "7")
    assert "支付成功 → 仓库分单" in await bot.say("cs01", "1")
    async with app.db.session() as s:
        assert await s.scalar(select(Order.status).where(Order.order_no == "BG260123-0001")) == "仓库分单"
        assert await s.scalar(select(Order.status).where(Order.order_no == "BG260122-0001")) == "支付成功"


async def test_greeting_names_the_callers_three_most_used_commands(bot: ChatBot) -> None:
    first = await bot.say("cs01", "你好")
    assert "您好" in first and first.count("· ") == 3
    for line in ("轨迹 BG260122-0001", "轨迹 BG260122-0002", "运单 BG260122-0003 中通 73123456789012",
                 "运单 BG260122-0003 中通 73123456789013", "运单 BG260122-0003 中通 73123456789014", "帮助"):
        await bot.say("cs01", line)
    out = await bot.say("cs01", "您好！")
    names = [ln[2:].split("：")[0] for ln in out.splitlines() if ln.startswith("· ")]
    assert names == ["运单", "轨迹", "帮助"], out


async def test_unknown_state_gets_the_usage_line(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "推进 BG260122-0001 发货")
    assert "没有「发货」这个状态" in out and "用法：推进 <单号> [状态]" in out and "仓库分单" in out
    async with app.db.session() as s:
        assert await s.scalar(select(Order.status).where(Order.order_no == "BG260122-0001")) == "支付成功"


async def test_a_crashing_handler_is_answered_logged_and_the_console_goes_on(
        bot: ChatBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import handlers.query

    async def boom(*a: object, **k: object) -> None:
        raise RuntimeError("boom 13812345678")

    monkeypatch.setattr(handlers.query, "order_track", boom)
    caplog.set_level(logging.INFO)
    out = io.StringIO()
    lines = "轨迹 BG260122-0001\n查 \U0010ffff\ud800BG260122-0002\n推进 BG260122-0001 发货\n查 BG260122-0003\n"
    await run_console(bot.dispatcher, "cs01", stdin=io.StringIO(lines), stdout=out)
    text = out.getvalue()
    assert "出错了" in text and "Traceback" not in text
    assert "订单 BG260122-0002" in text and "用法：推进" in text and "订单 BG260122-0003" in text
    assert "crashed" in caplog.text and "RuntimeError" in caplog.text and "13812345678" not in caplog.text


async def test_replies_and_logs_never_echo_a_full_mobile_id_number_or_street(
        bot: ChatBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    caplog.set_level(logging.INFO, logger="orders")
    for line in ("13900001111 110101199003071234 上海市浦东新区张江路88弄3号楼502室", "张三13900001111",
                 "查 上海市浦东新区张江路88弄3号楼502室", "查 110101199003071234"):
        out = await bot.say("cs01", line)
        for secret in ("13900001111", "110101199003071234", "张江路88弄3号楼502室"):
            assert secret not in out, (line, out)
            assert secret not in caplog.text, (line, caplog.text)
    out = await bot.say("cs01", "查 13900001111")
    assert "139****1111" in out and "13900001111" not in out


def test_export_with_a_bad_date_is_a_usage_error() -> None:
    from bot.cli import cli

    r = CliRunner().invoke(cli, ["export", "--from", "11-01", "--to", "11-30"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "--from" in r.output and "YYYY-MM-DD" in r.output
