"""推进 / 取消 / 改地址 / 运单 / 帮助 and the dispatcher's refusals, on a real SQLite file."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from bot.testing import ChatBot
from orders.app import App
from orders.models import Order, TimelineEvent
from orders.outbox import OutboxMessage


async def count(app: App, model: type, **where: object) -> int:
    async with app.db.session() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(await s.scalar(q) or 0)


async def status(app: App, order_no: str) -> str:
    async with app.db.session() as s:
        return str(await s.scalar(select(Order.status).where(Order.order_no == order_no)))


async def test_advance_next_and_named(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "推进 BG260122-0001")
    assert "支付成功 → 仓库分单" in out and "拣货中" in out
    out = await bot.say("wh01", "推进 BG260122-0001 拣货中")
    assert "仓库分单 → 拣货中" in out
    assert await status(app, "BG260122-0001") == "拣货中"
    trail = await bot.say("cs01", "轨迹 BG260122-0001")
    assert "孙仓管 推进 仓库分单→拣货中 [聊天]" in trail and "李客服" in trail


async def test_illegal_transition_names_allowed_and_writes_nothing(bot: ChatBot, app: App) -> None:
    before = await count(app, TimelineEvent)
    out = await bot.say("cs01", "推进 BG260122-0001 签收确认")
    assert "不能从「支付成功」推进到「签收确认」" in out
    assert "仓库分单、已取消" in out
    assert await count(app, TimelineEvent) == before
    assert await status(app, "BG260122-0001") == "支付成功"


async def test_role_may_not_fire_transition(bot: ChatBot, app: App) -> None:
    await bot.say("cs01", "推进 BG260122-0002")
    out = await bot.say("cs01", "推进 BG260122-0002")  # 拣货中 is for the warehouse
    assert "您的角色不能把订单推进到「拣货中」" in out and "仓管" in out
    assert await status(app, "BG260122-0002") == "仓库分单"


async def test_role_may_not_run_command(bot: ChatBot, app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    out = await bot.say("temp01", "取消 BG260122-0001 不要了")
    assert "您的角色不能使用「取消」" in out and "客服" in out and "运营" in out
    assert "may not run 取消" in caplog.text
    assert "您的角色不能使用「改地址」" in await bot.say("temp01", "改地址 BG260122-0001 浙江省杭州市西湖区文一路1号")
    assert "您的角色不能使用「查」" in await bot.say("temp01", "查 BG260122-0001")
    assert await status(app, "BG260122-0001") == "支付成功"


async def test_unknown_user_told_to_ask_admin(bot: ChatBot, app: App) -> None:
    before = await count(app, TimelineEvent), await count(app, OutboxMessage)
    out = await bot.say("stranger", "推进 BG260122-0001")
    assert "联系管理员" in out or "发给管理员" in out
    assert (await count(app, TimelineEvent), await count(app, OutboxMessage)) == before


async def test_unknown_command_suggests_closest(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "推近 BG260122-0001")  # a typo: suggested, not run
    assert "不认识的命令「推近」" in out and "「推进」" in out and "帮助" in out
    assert await status(app, "BG260122-0001") == "支付成功"
    assert "不认识的命令" in await bot.say("cs01", "xyz")


async def test_overlong_and_empty_arguments(bot: ChatBot, app: App) -> None:
    assert "消息太长" in await bot.say("cs01", "查 " + "9" * 600)
    assert "订单号太长" in await bot.say("cs01", "查 " + "9" * 60)
    assert "用法：取消" in await bot.say("cs01", "取消 BG260122-0001")
    assert "用法：推进" in await bot.say("cs01", "推进")
    assert "原因太长" in await bot.say("cs01", "取消 BG260122-0001 " + "很" * 300)
    assert await status(app, "BG260122-0001") == "支付成功"


async def test_cancel_notifies_warehouse_in_same_transaction(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "取消 BG260122-0003 客户拍错尺码")
    assert "已取消" in out
    assert await status(app, "BG260122-0003") == "已取消"
    async with app.db.session() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    assert [r.target for r in rows] == ["wh01"]
    assert "BG260122-0003 已取消" in rows[0].payload["content"]
    # cancelled is final; past 物流揽收 cancelling is refused
    assert "已是终态" in await bot.say("cs01", "推进 BG260122-0003")


async def test_cancel_refused_after_pickup(bot: ChatBot, app: App) -> None:
    await bot.say("admin", "推进 BG260122-0004 物流揽收")  # admin may not skip either
    assert await status(app, "BG260122-0004") == "支付成功"
    for target in ("仓库分单", "拣货中", "打包完成", "物流揽收"):
        await bot.say("admin", f"推进 BG260122-0004 {target}")
    assert await status(app, "BG260122-0004") == "物流揽收"
    out = await bot.say("cs01", "取消 BG260122-0004 不要了")
    assert "不能从「物流揽收」推进到「已取消」" in out
    assert "不能再改地址" in await bot.say("cs01", "改地址 BG260122-0004 浙江省杭州市西湖区文一路1号")


async def test_change_address_parses_and_masks(bot: ChatBot, app: App) -> None:
    out = await bot.say("cs01", "改地址 BG260122-0005 广东省深圳市南山区科技园南路88号")
    assert "省：广东省　市：深圳市　区：南山区" in out and "科技园南路88号" not in out
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.order_no == "BG260122-0005"))
        assert o is not None and (o.province, o.city, o.district) == ("广东省", "深圳市", "南山区")
        assert o.address_detail == "科技园南路88号"
    assert "改地址" in await bot.say("cs01", "轨迹 BG260122-0005")
    assert "无法识别地址" in await bot.say("cs01", "改地址 BG260122-0005 随便写写")


async def test_tracking_added_and_duplicates_refused(bot: ChatBot) -> None:
    assert "已登记运单：中通 73123456789012" in await bot.say("wh01", "运单 BG260122-0001 中通 73123456789012")
    assert "已在订单" in await bot.say("wh01", "运单 BG260122-0001 中通 73123456789012")
    assert "已属于另一个订单" in await bot.say("wh01", "运单 BG260122-0002 中通 73123456789012")
    assert "6到40位" in await bot.say("wh01", "运单 BG260122-0002 中通 12#")
    assert "中通 73123456789012" in await bot.say("cs01", "查 BG260122-0001")


async def test_help_lists_only_permitted_commands(bot: ChatBot) -> None:
    cs = await bot.say("cs01", "帮助")
    assert "查" in cs and "取消" in cs and "例：" in cs and "用户" not in cs
    temp = await bot.say("temp01", "帮助")
    assert "取消" not in temp and "改地址" not in temp
    admin = await bot.say("admin", "帮助")
    assert "用户" in admin and "流程" in admin
