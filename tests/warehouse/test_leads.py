"""Who the warehouse leads are (warehouse.yaml ``leads_role`` and its lead role, warehouse_lead),
that every path tells them once, with the app's warehouse config, and with the board's task wall
link when ORDERBOT_BOARD_URL is set."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from sqlalchemy import select

from bot.dispatch import Dispatcher
from bot.intake_jobs import build_importer
from bot.testing import ChatBot
from config import ConfigDir, load_settings
from orders.app import WAREHOUSE, App, build_app
from orders.board_links import TASKS, path_of
from orders.clock import ManualClock
from orders.intake.canonical import CanonOrder
from orders.models import Order, User
from orders.warehouse.config import WarehouseConfig, lead_ids
from orders.warehouse.exception_reports import Heard, attach, record_report
from tests.factories import canon
from tests.warehouse.helpers import button, my_card, press, to_sorting
from tests.warehouse.test_holds import NO, pack, start_pick, texts_to

PULL = "已打包但被暂停"


async def add_leads(bot: ChatBot) -> None:
    """A warehouse_lead, and a user with both lead roles (told once, not twice)."""
    assert "仓库主管" in await bot.say("admin", "用户 添加 whlead 冯主管 warehouse_lead 仓储部")
    assert "仓管、仓库主管" in await bot.say("admin", "用户 添加 wh02 蒋仓管 warehouse,warehouse_lead 仓储部")


async def told(app: App, user: str, words: str) -> list[str]:
    return [t for t in await texts_to(app, user) if words in t]


async def typed_report(bot: ChatBot, words: str = "外箱破损 羽绒服袋子破了") -> None:
    card = await my_card(bot, "temp01", NO)
    await bot.send(press("temp01", button(card, "异常上报")))
    assert "已通知仓管" in await bot.say("temp01", words)


def test_the_leads_are_the_role_and_its_lead_role() -> None:
    assert WarehouseConfig().lead_roles == ("warehouse", "warehouse_lead")
    assert WarehouseConfig.from_dict({"leads_role": "ops"}).lead_roles == ("ops", "ops_lead")


async def test_warehouse_lead_hears_reports_and_pulls_once_each(bot: ChatBot, app: App) -> None:
    await add_leads(bot)
    await to_sorting(bot, NO)
    await typed_report(bot)
    for lead in ("wh01", "whlead", "wh02"):
        [report] = await told(app, lead, "⚠️ 异常上报 #1")
        assert "上报人：钱临时，文字上报。" in report  # a typed report: no voice to speak of
    assert not await told(app, "temp01", "⚠️ 异常上报")
    assert "已处理" in await bot.say("whlead", "处理 1 已换新包装袋")  # the warehouse_lead acts on it too
    await start_pick(bot)
    assert "打包完成" in await pack(bot)
    assert "已通知仓管从待发区拦下" in await bot.say("cs01", f"拦截 {NO} 买家退款")
    for lead in ("wh01", "whlead", "wh02"):
        assert len(await told(app, lead, PULL)) == 1, lead
    assert not await told(app, "cslead", PULL)


async def test_a_report_made_before_its_order_is_known_tells_every_lead_but_the_reporter(bot: ChatBot,
                                                                                        app: App) -> None:
    await add_leads(bot)
    now = app.clock.now()
    heard = Heard(kind="破损", transcript="外箱破了", status="transcribed", problem="", media_id="M1",
                  audio_path="", audio_sha256="", seconds=1.0)
    async with app.db.session() as s:
        reporter = await s.get(User, "wh02")  # a lead reporting: told the others, not themselves
        order = await s.scalar(select(Order).where(Order.order_no == NO))
        assert reporter is not None and order is not None
        assert sorted(await lead_ids(s, app[WAREHOUSE], but="wh02")) == ["wh01", "whlead"]
        r, leads = await record_report(s, reporter=reporter, order=None, heard=heard, now=now, wh=app[WAREHOUSE])
        assert sorted(leads) == ["wh01", "whlead"]
        await attach(s, r, order, reporter, now, app[WAREHOUSE])
    for lead in ("wh01", "whlead"):
        assert len(await told(app, lead, f"异常上报 #{r.id}")) == 2  # the report, then its order
    assert not await told(app, "wh02", f"异常上报 #{r.id}")


async def test_an_exception_report_gives_the_leads_the_board_task_wall_link(bot: ChatBot, app: App) -> None:
    app.settings.board_url = "https://board.example"
    await to_sorting(bot, NO)
    await typed_report(bot)
    [report] = await told(app, "wh01", "⚠️ 异常上报 #1")
    m = re.search(r"\n在看板中打开：https://board\.example/board/go\?t=(\S+)$", report)
    assert m, report
    assert path_of(app.settings.secret_key, unquote(m.group(1)), app.clock.now()) == TASKS


@pytest.fixture
async def ops_leads_app(db_url: str, clock: ManualClock, tmp_path: Path) -> AsyncIterator[App]:
    """The app with warehouse.yaml naming ``ops`` as the leads' role."""
    raw = ConfigDir().load("warehouse")
    raw["leads_role"] = "ops"
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "warehouse.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    a = await build_app(load_settings(database_url=db_url, data_dir=tmp_path / "var", config_dir=folder),
                        clock=clock, migrate=False)
    yield a
    await a.close()


async def test_the_importer_tells_the_configured_leads(ops_leads_app: App) -> None:
    from handlers import registry

    app = ops_leads_app
    bot = ChatBot(app, Dispatcher(app, registry))
    await to_sorting(bot, NO)
    await start_pick(bot)
    assert "打包完成" in await pack(bot)
    await build_importer(app).import_orders([CanonOrder.model_validate(canon("T1001", flags=["退款中"]))])
    [pull] = await told(app, "ops01", PULL)
    assert "平台退款中" in pull
    assert not await told(app, "wh01", PULL)
