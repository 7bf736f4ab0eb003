"""A scripted tour against the demo database, one flow per role, as a new user would take it
after `make demo`; and the README's console examples, run as written."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.console import run_console
from bot.dispatch import Dispatcher
from bot.testing import ChatBot
from config import load_settings
from notifications.chart import cjk_font
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.models import Order
from orders.seed import SHOWCASE
from tests.aftersales.helpers import last_id, outbox
from tests.conftest import DEMO_NOW as NOW

README = Path(__file__).parents[1] / "README.md"


@pytest.fixture
async def demo(demo_template: Path, tmp_path: Path) -> AsyncIterator[ChatBot]:
    from handlers import registry

    shutil.copytree(demo_template, tmp_path / "demo")
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo' / 'demo.db'}",
                             data_dir=tmp_path / "demo" / "var")
    app = await build_app(settings, clock=ManualClock(NOW), migrate=False)
    yield ChatBot(app, Dispatcher(app, registry))
    await app.close()


async def chat(bot: ChatBot, user: str, lines: str) -> str:
    out = io.StringIO()
    await run_console(bot.dispatcher, user, stdin=io.StringIO(lines), stdout=out)
    return out.getvalue()


async def pending_case(app: App, role: str) -> str:
    async with app.db.session() as s:
        return str(await s.scalar(select(AfterSalesCase.case_no).join(ApprovalStep).where(
            ApprovalStep.state == "pending", ApprovalStep.role == role, ApprovalStep.deadline_at > NOW)
            .order_by(AfterSalesCase.opened_at.desc()).limit(1)))


async def test_cs_finds_the_showcase_order_by_every_key(demo: ChatBot) -> None:
    for key in (SHOWCASE, "8812", "bg260122-8812", "3968421047724458"):
        out = await demo.say("cs01", f"查 {key}")
        assert f"订单 {SHOWCASE} · 淘宝" in out, (key, out)
        assert "商品 358 − 平台券 50 − 店铺红包 12.8 ＋ 运费 3.3 ＝ 实付 298.5 元" in out
    assert "轨迹" in (await demo.say("cs01", "帮助"))
    assert "系统自动分配" in await demo.say("cs01", f"轨迹 {SHOWCASE}")


async def test_the_search_examples_of_help_and_readme_find_demo_orders(demo: ChatBot) -> None:
    """帮助's 查 examples (mobile, masked mobile, name, platform id and 尾号, tracking number and
    suffix) each find what the README says in the demo data."""
    from handlers.query import KEY_EXAMPLES

    shown = await demo.say("cs01", "帮助")
    assert "也可：" + "、".join(KEY_EXAMPLES) in shown
    readme = README.read_text(encoding="utf-8")
    for ask in KEY_EXAMPLES:
        assert f"`{ask}`" in readme, ask
        out = await demo.say("cs01", ask)
        if ask in ("查 尾号4458",):
            assert "匹配到多个订单（共 3 单）" in out and SHOWCASE in out, out
        elif ask in ("查 73123456789012", "查 789012"):
            assert "运单：中通 73123456789012" in out, out
        else:
            assert f"订单 {SHOWCASE} · 淘宝" in out, (ask, out)
    assert "匹配到多个订单" in await demo.say("cs01", "查 胡女士")
    assert f"订单 {SHOWCASE}" in await demo.say("cs01", "查 5678")


async def test_the_demo_parcels_carry_the_carriers_track(demo: ChatBot) -> None:
    """The demo's carrier pushes go the real way (Kuaidi100 form, parse, apply): 查 shows the latest
    scan, 轨迹 interleaves the track (【物流】)."""
    out = await demo.say("cs01", "查 73123456789012")
    assert re.search(r"物流：\d\d-\d\d \d\d:\d\d 浙江,杭州市,西湖区 【杭州西湖区文三路】快件已揽收", out), out
    no = re.search(r"订单 (BG\d{6}-\d{4})", out)
    assert no, out
    trail = await demo.say("cs01", f"轨迹 {no.group(1)}")
    assert "含物流 1 条" in trail and "【物流】" in trail and "快件已揽收" in trail, trail
    assert "快件已签收" in await demo.say("cs01", "查 YT7712345678901")
    assert "快件丢失，网点正在核实" in await demo.say("cs01", "查 SF1402345678906")


async def test_a_temp_works_the_three_buttons(demo: ChatBot) -> None:
    out = await chat(demo, "temp01", "任务\n/按 异常上报\n/按 扫码拣货\n/扫 BG260122-8812\n/扫 TQ-YRF-120\n"
                                     "/扫 TQ-WY-110\n/扫 TQ-WY-110\n/按 完成打包\n")
    assert "今天的任务：共4单" in out and out.count("[扫码拣货]  [异常上报]  [完成打包]") >= 4
    assert "10分钟内发一条语音" in out
    assert "✅ 扫码一致：TQ-WY-110 加绒卫衣 110cm 2/2" in out and "全部扫完" in out
    assert f"✅ 订单 {SHOWCASE} 打包完成" in out
    assert "打包完成" in await demo.say("wh01", f"查 {SHOWCASE}")


async def test_approvers_decide_cases_and_one_case_is_past_its_deadline(demo: ChatBot) -> None:
    app = demo.app
    no = await pending_case(app, "warehouse")
    out = await chat(demo, "wh01", f"通过 {no}\n/切换 fin01\n/按 通过\n")
    assert f"已通过售后单 {no}「仓管确认实物入库」，已转「财务核对」" in out
    assert f"→ 吴财务(fin01)：\n  ┌ 售后审批 {no} · 财务核对" in out and "照片：1张" in out
    assert f"已通过售后单 {no}「财务核对」，审批完成。" in out
    async with app.db.session() as s:
        overdue = (await s.scalars(select(AfterSalesCase.case_no).join(ApprovalStep).where(
            ApprovalStep.state == "pending", ApprovalStep.deadline_at < NOW))).all()
        states = dict((await s.execute(select(AfterSalesCase.status, func.count())
                                       .group_by(AfterSalesCase.status))).all())
    assert len(overdue) == 1 and set(states) == {"open", "approved", "rejected"}
    assert "财务核对" in await demo.say("fin01", f"售后单 {await pending_case(app, 'finance')}")


async def test_the_overdue_warehouse_step_escalates_to_the_warehouse_lead(demo: ChatBot) -> None:
    from notifications.sweeper import sweep_deadlines

    app = demo.app
    mark = await last_id(app)
    assert await sweep_deadlines(app) >= 1
    texts = {r.target: r.payload["content"] for r in await outbox(app, "text", since=mark)}
    assert "⚠️ 升级" in texts["whlead"] and "仓管确认实物入库" in texts["whlead"], texts
    assert "cslead" not in texts  # its own department's lead, not the default cs_lead
    todo = await demo.say("whlead", "待办")
    assert "⏰超时" in todo, todo


async def test_the_customer_service_lead_approves_from_the_queue(demo: ChatBot) -> None:
    no = await pending_case(demo.app, "cs_lead")
    out = await chat(demo, "cslead", f"待办\n通过 {no}\n")
    assert no in out.split("\n\n")[0]
    assert f"已通过售后单 {no}「客服组长审核」，已转「财务核对」" in out
    assert "→ 吴财务(fin01)：" in out and "→ 李客服(cs01)：" in out


async def test_the_manager_reads_the_digest_with_a_chinese_chart(demo: ChatBot) -> None:
    replies = await demo.replies("boss", "日报")
    text = "\n".join(r.markdown for r in replies if r.markdown)
    assert "运营日报" in text and "超时订单" in text and "错发率" in text
    image = next(r.image for r in replies if r.image is not None)
    assert image.startswith(b"\x89PNG") and cjk_font() is not None and "CJK" in str(cjk_font())


async def test_the_admin_edits_the_workflow(demo: ChatBot) -> None:
    out = await demo.say("admin", "流程 加状态 质检 在 打包完成 之前 直通")
    assert "质检" in out
    assert "质检" in await demo.say("boss", "流程")
    assert "质检" not in (await demo.say("admin", "流程 删状态 质检")).split("\n")[-1]


async def test_the_demo_has_every_flow_under_way(demo: ChatBot) -> None:
    app = demo.app
    async with app.db.session() as s:
        states = dict((await s.execute(select(Order.status, func.count()).group_by(Order.status))).all())
        flags = [f for fl in (await s.scalars(select(Order.flags))).all() for f in fl]
    assert set(states) >= {"支付成功", "仓库分单", "拣货中", "打包完成", "物流揽收", "签收确认", "售后关闭", "已取消"}
    assert max(states.values()) < 0.7 * sum(states.values())
    assert flags.count("疑似刷单") == 2 and flags.count("金额不一致") == 1 and "物流异常:疑难件" in flags
    regions = await demo.say("boss", "区域")
    assert "河南省周口市郸城县 · 极兔 · 退货率" in regions and "预警" in regions


async def test_every_help_example_names_an_order_in_the_demo(demo: ChatBot) -> None:
    from handlers import registry

    examples = [c.example.split(" 或 ")[0] for c in registry.commands.values() if "8812" in c.example]
    examples.sort(key=lambda e: e.startswith("取消"))  # cancelling last
    assert len(examples) >= 7
    for ex in examples:
        out = await demo.say("admin", ex)
        assert "没有找到" not in out and "不认识" not in out, (ex, out)


def test_the_readme_console_examples_work_as_written(demo_template: Path, tmp_path: Path) -> None:
    examples = re.findall(r"printf '([^']+)'\s*\|\s*\.venv/bin/orderbot chat --as (\w+)",
                          README.read_text(encoding="utf-8"))
    assert len(examples) >= 7

    async def run() -> None:
        for lines, user in examples:
            shutil.rmtree(tmp_path / "demo", ignore_errors=True)
            shutil.copytree(demo_template, tmp_path / "demo")
            from handlers import registry

            app = await build_app(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo' / 'demo.db'}",
                                                data_dir=tmp_path / "demo" / "var"), clock=ManualClock(NOW),
                                  migrate=False)
            out = await chat(ChatBot(app, Dispatcher(app, registry)), user, lines.replace("\\n", "\n"))
            await app.close()
            for bad in ("没有找到", "不认识", "用法", "没有开通", "控制台命令"):
                assert bad not in out, (lines, out)

    asyncio.run(run())
