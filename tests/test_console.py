"""The chat console: a temp works a task card by typing button labels, as piped lines."""

from __future__ import annotations

import io

from bot.console import run_console
from bot.testing import ChatBot


async def test_buttons_pressed_by_label_on_the_newest_card(bot: ChatBot) -> None:
    assert "→ 仓库分单" in await bot.say("cs01", "推进 BG260122-0001")  # auto-assigned to temp01
    lines = ("任务\n/按 扫码拣货\n/扫 XX-999\n/扫 BG260122-0001\n/扫 TQ-YRF-120\n/扫 TQ-WY-110\n2\n"
             "/按 完成打包\n/按 不存在的按钮\n")
    out = io.StringIO()
    await run_console(bot.dispatcher, "temp01", stdin=io.StringIO(lines), stdout=out)
    text = out.getvalue()
    assert "（控制台：/按 " in text
    assert "请逐件扫描订单 BG260122-0001" in text
    assert "扫码不符" in text and "不算商品" in text and "✅ 扫码一致：TQ-YRF-120 儿童羽绒服 120cm 1/1" in text
    assert "TQ-WY-110 加绒卫衣 110cm 2/2，本单已扫 3/3 件" in text  # one scan, then the quantity typed
    assert "✅ 订单 BG260122-0001 打包完成" in text
    assert "用法：/按 [卡片号] 按钮名" in text  # no card has that button
    assert "打包完成" in await bot.say("wh01", "查 BG260122-0001")
