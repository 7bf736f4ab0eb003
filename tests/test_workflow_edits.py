"""Workflow edits that make sense: side branches returning where the order came from, time limits
and roles from chat, how a new state is entered (a platform status in channels.yaml, or a role),
and a warning for a state nothing can enter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.dispatch import Dispatcher
from bot.testing import ChatBot
from config import ConfigDir, load_settings
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.workflow import WorkflowDef
from tests.conftest import START
from tests.fakes import payloads as P
from tests.intake.helpers import order_of, pull_in

BRANCH = "流程 加分支 拦截中 从 拣货中,打包完成 返回原状态 角色 仓管,客服组长"


async def test_side_branch_returns_to_where_the_order_came_from(bot: ChatBot, app: App) -> None:
    out = await bot.say("admin", BRANCH)
    assert "已加分支「拦截中」：从 拣货中、打包完成 进入" in out
    assert "分支：拦截中（从 拣货中、打包完成 进入，返回原状态；可推进者：仓管、客服组长，无时限）" in out
    for t in ("仓库分单", "拣货中"):
        await bot.say("admin", f"推进 BG260122-0001 {t}")
    for t in ("仓库分单", "拣货中", "打包完成"):
        await bot.say("admin", f"推进 BG260122-0002 {t}")
    assert "✅" in await bot.say("wh01", "推进 BG260122-0001 拦截中")
    assert "✅" in await bot.say("cslead", "推进 BG260122-0002 拦截中")
    refused = await bot.say("wh01", "推进 BG260122-0001 打包完成")
    assert "不能从「拦截中」推进到「打包完成」" in refused and "当前可推进到：拣货中" in refused
    assert "拦截中 → 拣货中" in await bot.say("wh01", "推进 BG260122-0001")  # back where it came from
    assert "拦截中 → 打包完成" in await bot.say("wh01", "推进 BG260122-0002")
    assert "不能从「仓库分单」推进到「拦截中」" in await bot.say("admin", "推进 BG260122-0003 仓库分单") + \
        await bot.say("wh01", "推进 BG260122-0003 拦截中")
    # cancelling from the branch is allowed (both its states are before 物流揽收)
    await bot.say("wh01", "推进 BG260122-0001 拦截中")
    assert "已取消" in await bot.say("cs01", "取消 BG260122-0001 买家拦截")


async def test_branch_edits_refused_and_removed(bot: ChatBot, app: App) -> None:
    assert "没有状态「不存在」" in await bot.say("admin", "流程 加分支 拦截中 从 拣货中,不存在 返回原状态")
    assert "已存在" in await bot.say("admin", "流程 加分支 拣货中 从 打包完成 返回原状态")
    assert "没有角色「老板娘」" in await bot.say("admin", "流程 加分支 缺货挂起 从 仓库分单 角色 老板娘")
    await bot.say("admin", "流程 加分支 缺货挂起 从 仓库分单")
    assert "请先删除分支「缺货挂起」" in await bot.say("admin", "流程 删状态 仓库分单")
    out = await bot.say("admin", "流程 删状态 缺货挂起")
    assert "已删除状态「缺货挂起」" in out and "分支" not in out
    async with app.db.session() as s:
        d = (await app.workflows.current(s)).definition
    assert WorkflowDef.from_dict(d.to_dict()) == d and d.branches == ()


async def test_time_limits_and_roles_from_chat(bot: ChatBot, app: App) -> None:
    await bot.say("admin", BRANCH)
    assert "「拦截中」时限改为2小时" in await bot.say("admin", "流程 时限 拦截中 2小时")
    assert "时限0.5小时" in await bot.say("admin", "流程 时限 拦截中 30分钟")
    assert "时限48小时" in await bot.say("admin", "流程 时限 拣货中 两天")
    assert "「支付成功」时限改为无" in (out := await bot.say("admin", "流程 时限 支付成功 无"))
    assert "1. 支付成功（可推进者：管理员，无时限）" in out
    assert "看不懂" in await bot.say("admin", "流程 时限 拣货中 很久")
    assert "需大于0" in await bot.say("admin", "流程 时限 拣货中 0小时")
    assert "没有状态「不存在」" in await bot.say("admin", "流程 时限 不存在 2小时")
    assert "您的角色不能修改流程" in await bot.say("ops01", "流程 时限 拣货中 2小时")
    out = await bot.say("admin", "流程 角色 拣货中 仓管,ops")
    assert "「拣货中」可推进者改为仓管、运营" in out and "3. 拣货中（可推进者：仓管、运营，时限48小时）" in out
    await bot.say("admin", "推进 BG260122-0001 仓库分单")
    assert "可以操作的角色：仓管、运营" in await bot.say("cs01", "推进 BG260122-0001 拣货中")
    assert "✅" in await bot.say("ops01", "推进 BG260122-0001 拣货中")
    async with app.db.session() as s:
        d = (await app.workflows.current(s)).definition
    assert d.state("拣货中") is not None and d.state("拣货中").limit_hours == 48  # type: ignore[union-attr]


async def test_a_state_nothing_can_enter_is_warned_until_a_role_is_set(bot: ChatBot, app: App) -> None:
    out = await bot.say("admin", "流程 加状态 质检 在 签收确认 之前")  # outside the warehouse stretch (#12)
    assert "6. 质检（可推进者：管理员，无时限）" in out
    assert "⚠️「质检」目前没有订单能进入：只有管理员能把订单从「物流揽收」推进到它" in out
    assert "⚠️" in await bot.say("ops01", "流程")
    out = await bot.say("admin", "流程 角色 质检 仓管")
    assert "⚠️" not in out


@pytest.fixture
async def presale_app(db_path: Path, tmp_path: Path) -> AsyncIterator[App]:
    """channels.yaml with Taobao's presale stage 定金已付 mapped to 预售定金锁定."""
    text = ConfigDir().path("channels").read_text(encoding="utf-8").replace(
        "        # WAIT_BUYER_PAY/FRONT_PAID_FINAL_NOPAID: 预售定金锁定",
        "        WAIT_BUYER_PAY/FRONT_PAID_FINAL_NOPAID: 预售定金锁定")
    assert "\n        WAIT_BUYER_PAY/FRONT_PAID_FINAL_NOPAID" in text
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "channels.yaml").write_text(text, encoding="utf-8")
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{db_path}", data_dir=tmp_path / "var",
                             config_dir=folder)
    a = await build_app(settings, clock=ManualClock(START), migrate=False)
    yield a
    await a.close()


async def test_taobao_presale_lands_in_the_deposit_state(presale_app: App) -> None:
    from handlers import registry

    bot = ChatBot(presale_app, Dispatcher(presale_app, registry))
    out = await bot.say("admin", "流程 加状态 预售定金锁定 在 支付成功 之前")
    mapped = "平台状态 taobao status=WAIT_BUYER_PAY/FRONT_PAID_FINAL_NOPAID"
    assert f"1. 预售定金锁定（可推进者：管理员，无时限；{mapped}）" in out
    assert "⚠️" not in out
    presale = P.taobao("TB-PRE1", "WAIT_BUYER_PAY") | {"step_trade_status": "FRONT_PAID_FINAL_NOPAID"}
    rep = await pull_in(presale_app, "taobao", presale)
    assert (rep.added, rep.failed) == (1, 0), rep.rejects
    o = await order_of(presale_app, "taobao", "TB-PRE1")
    assert o.status == "预售定金锁定"
    assert o.platform_status == "WAIT_BUYER_PAY"
    unpaid = P.taobao("TB-PRE2", "WAIT_BUYER_PAY") | {"step_trade_status": "FRONT_NOPAID_FINAL_NOPAID"}
    assert (await pull_in(presale_app, "taobao", unpaid)).added == 0  # deposit not paid: not taken in
    # the balance is paid: the platform moves it on to 支付成功
    await pull_in(presale_app, "taobao", P.taobao("TB-PRE1", "WAIT_SELLER_SEND_GOODS") |
                  {"step_trade_status": "FRONT_PAID_FINAL_PAID"})
    assert (await order_of(presale_app, "taobao", "TB-PRE1")).status == "支付成功"
    # a regular Taobao order still starts at 支付成功
    await pull_in(presale_app, "taobao", P.taobao("TB-REG"))
    assert (await order_of(presale_app, "taobao", "TB-REG")).status == "支付成功"
