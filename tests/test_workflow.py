"""Run-time workflow edits from chat, visible to the very next command, and versioned."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.testing import ChatBot
from orders.app import App
from orders.models import WorkflowVersion
from orders.workflow import WorkflowDef


async def test_promotion_states_added_and_used_without_restart(bot: ChatBot, app: App) -> None:
    out = await bot.say("admin", "流程 加状态 预售定金锁定 在 支付成功 之前")
    assert "已加状态「预售定金锁定」" in out and "1. 预售定金锁定（可推进者：管理员，无时限）" in out
    assert "⚠️「预售定金锁定」目前没有订单能进入" in out and "channels.yaml" in out
    out = await bot.say("admin", "流程 加状态 赠品补发触发 在 签收确认 之后 角色 客服,cs_lead")
    assert "8. 赠品补发触发（可推进者：客服、客服组长，无时限）" in out
    # the very next command sees it
    for t in ("仓库分单", "拣货中", "打包完成", "物流揽收", "签收确认"):
        await bot.say("admin", f"推进 BG260122-0001 {t}")
    out = await bot.say("cs01", "推进 BG260122-0001")
    assert "签收确认 → 赠品补发触发" in out
    assert "售后关闭" in out
    async with app.db.session() as s:
        assert await s.scalar(select(func.max(WorkflowVersion.version))) == 2
    shown = await bot.say("ops01", "流程")
    assert "第 2 版" in shown and "预售定金锁定" in shown


async def test_remove_state_in_use_is_refused_with_count(bot: ChatBot, app: App) -> None:
    out = await bot.say("admin", "流程 删状态 支付成功")
    assert "「支付成功」中还有 6 个订单，不能删除" in out
    await bot.say("admin", "流程 加状态 质检 在 签收确认 之前")  # (between the warehouse states: #12's rule)
    out = await bot.say("admin", "流程 删状态 质检")
    assert "已删除状态「质检」" in out and "质检" not in out.split("\n", 1)[1]
    async with app.db.session() as s:
        assert await s.scalar(select(func.max(WorkflowVersion.version))) == 2


async def test_workflow_edits_refused_for_non_admin_and_bad_input(bot: ChatBot) -> None:
    assert "您的角色不能修改流程" in await bot.say("ops01", "流程 加状态 X 在 支付成功 之前")
    assert "没有状态「不存在」" in await bot.say("admin", "流程 加状态 新状态 在 不存在 之前")
    assert "已存在" in await bot.say("admin", "流程 加状态 拣货中 在 支付成功 之前")
    assert "用法：流程" in await bot.say("admin", "流程 随便")
    assert "不能删除" in await bot.say("admin", "流程 删状态 已取消")
    assert "您的角色不能使用「流程」" in await bot.say("temp01", "流程")


async def test_definition_roundtrip_and_machine(app: App) -> None:
    async with app.db.session() as s:
        wf = await app.workflows.current(s)
    d = wf.definition
    assert WorkflowDef.from_dict(d.to_dict()) == d
    assert wf.allowed("支付成功") == ["仓库分单", "已取消"]
    assert wf.allowed("物流揽收") == ["签收确认"]
    assert wf.allowed("售后关闭") == []
    assert "支付成功 --> 仓库分单" in wf.mermaid()
