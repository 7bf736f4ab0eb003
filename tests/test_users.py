"""用户 (admin) in chat, and YAML users synced on start."""

from __future__ import annotations

from bot.testing import ChatBot


async def test_admin_adds_user_who_can_then_chat(bot: ChatBot) -> None:
    assert "还没有开通" in await bot.say("zhangsan", "帮助")
    out = await bot.say("admin", "用户 添加 zhangsan 张三 客服,cs_lead 客服部")
    assert "zhangsan（张三）：客服、客服组长" in out
    assert "张三（客服、客服组长）" in await bot.say("zhangsan", "帮助")
    out = await bot.say("admin", "用户 角色 zhangsan 仓库临时工")
    assert "仓库临时工" in out
    assert "您的角色不能使用「取消」" in await bot.say("zhangsan", "取消 BG260122-0001 x")
    listing = await bot.say("admin", "用户")
    assert "zhangsan 张三 客服部 仓库临时工" in listing


async def test_user_admin_bad_input(bot: ChatBot) -> None:
    assert "没有角色「厨师」" in await bot.say("admin", "用户 添加 li 李四 厨师")
    assert "没有用户「nobody」" in await bot.say("admin", "用户 角色 nobody 客服")
    assert "用法：用户" in await bot.say("admin", "用户 删除 x")
    assert "您的角色不能使用「用户」" in await bot.say("cs01", "用户")
    assert "还没有开通" in await bot.say("li", "帮助")
