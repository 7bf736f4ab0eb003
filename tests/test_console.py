"""The chat console: a temp works a task card by typing button labels, as piped lines."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from sqlalchemy import select

from bot.console import run_console
from bot.testing import ChatBot
from orders.warehouse.models import ExceptionReport
from stt.pool import SttPool
from stt.service import STT_POOL
from tests.stt.support import FIXTURES


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


async def chat(bot: ChatBot, user: str, lines: str) -> str:
    out = io.StringIO()
    await run_console(bot.dispatcher, user, stdin=io.StringIO(lines), stdout=out)
    return out.getvalue()


async def test_notices_to_others_and_cards_show_as_queued_and_can_be_pressed_after_switching(bot: ChatBot) -> None:
    text = await chat(bot, "cs01", "推进 BG260122-0001\n售后 BG260122-0002 退款 20 尺码不合适\n"
                                   "售后 BG260122-0003 补偿 5 物流慢\n/切换 nobody\n/切换 fin01\n"
                                   "/按 as-AS260122-0001-1 通过\n/按 驳回\n金额不对\n")
    assert "→ 钱临时(temp01)：新任务：订单 BG260122-0001" in text  # the auto-assignment notice
    assert "→ 吴财务(fin01)：\n  ┌ 售后审批 AS260122-0001 · 财务核对" in text
    assert "│ [通过]  [驳回]" in text
    assert "没有账号「nobody」。可以切换到：" in text and "temp01（钱临时）" in text
    assert "现在以 吴财务(fin01) 的身份发消息。" in text
    assert "已通过售后单 AS260122-0001「财务核对」，审批完成。" in text
    assert "→ 李客服(cs01)：✅ 售后单 AS260122-0001" in text
    assert "请直接回复驳回售后单 AS260122-0002 的原因" in text  # the newest card with 驳回
    assert "已驳回售后单 AS260122-0002（财务核对）" in text
    assert "→ 李客服(cs01)：❌ 售后单 AS260122-0002" in text


async def test_open_app_image_and_bad_console_lines(bot: ChatBot, tmp_path: Path) -> None:
    photo = tmp_path / "damage.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 a photo")
    text = await chat(bot, "cs01", f"/进入\n/图片 {photo}\n查 BG260122-0003\n/图片 {photo}\n/图片 {tmp_path}/nope.jpg\n"
                                   "/语音\n/不存在\n")
    assert "→ 李客服(cs01)：李客服，您好！常用：「查 BG260122-8812 或 查 8812」" in text  # the greeting is queued
    assert "请先发送「查 <单号>」打开要附图的订单" in text
    assert "📎 已把图片存为订单 BG260122-0003 的凭证（共1张）" in text
    assert "找不到文件：" in text and "用法：/语音 <文件路径>" in text
    assert "控制台命令：/按" in text
    again = await chat(bot, "cs01", "/进入\n")
    assert "您好" not in again and "（没有回复）" in again  # once a day


async def test_voice_file_goes_through_decoding_and_the_speech_model(bot: ChatBot, stt_pool: SttPool) -> None:
    bot.app[STT_POOL] = stt_pool
    await bot.say("cs01", "推进 BG260122-0001")  # auto-assigned to temp01
    clip = FIXTURES / "ko_numbers.amr"
    text = await chat(bot, "temp01", f"任务\n/按 异常上报\n/语音 {clip}\n")
    assert "10分钟内发一条语音" in text
    assert "收到：" in text and "订单：BG260122-0001" in text and "[确认]  [重录]" in text
    assert "→ 孙仓管(wh01)：⚠️ 异常上报 #1（订单 BG260122-0001）" in text and "原始语音已保存" in text
    async with bot.app.db.session() as s:
        r = await s.scalar(select(ExceptionReport))
    assert r is not None and r.status == "transcribed" and r.transcript
    kept, sent = await asyncio.gather(asyncio.to_thread(Path(r.audio_path).read_bytes),
                                      asyncio.to_thread(clip.read_bytes))
    assert kept == sent
