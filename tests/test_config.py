"""ORDERBOT_CONFIG_DIR replaces config files one by one; on-entry notifications follow the workflow."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from bot.dispatch import Dispatcher
from bot.testing import ChatBot
from config import ConfigDir, load_settings
from orders.app import build_app
from orders.clock import ManualClock
from orders.outbox import OutboxMessage


async def test_config_dir_replaces_roles_file_only(db_path: Path, tmp_path: Path, clock: ManualClock) -> None:
    roles = ConfigDir().load("roles")
    roles["permissions"]["查"] = ["warehouse_temp"]
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "roles.yaml").write_text(yaml.safe_dump(roles, allow_unicode=True), encoding="utf-8")
    app = await build_app(load_settings(database_url=f"sqlite+aiosqlite:///{db_path}", config_dir=cfg),
                          clock=clock, migrate=False)
    try:
        from handlers import registry

        bot = ChatBot(app, Dispatcher(app, registry))
        assert "订单 BG260122-0001" in await bot.say("temp01", "查 BG260122-0001")
        assert "您的角色不能使用「查」" in await bot.say("cs01", "查 BG260122-0001")
        # workflow.yaml was not replaced: the default workflow is in force
        assert "1. 支付成功" in await bot.say("ops01", "流程")
    finally:
        await app.close()


async def test_entering_pickup_notifies_cs_lead(bot: ChatBot) -> None:
    for t in ("仓库分单", "拣货中", "打包完成"):
        await bot.say("admin", f"推进 BG260122-0001 {t}")
    out = await bot.say("wh01", "推进 BG260122-0001")
    assert "打包完成 → 物流揽收" in out
    async with bot.app.db.session() as s:
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.target == "cslead"))).all()
    assert [r.payload["content"] for r in rows] == ["订单#BG260122-0001 已揽收，请关注48小时内签收反馈"]
