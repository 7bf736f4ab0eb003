"""Config naming a robot, role or state that does not exist is refused at start, with file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import cli
from config import ConfigDir, load_settings
from orders.app import build_app
from orders.clock import ManualClock
from orders.config_check import ConfigError


def _override(folder: Path, name: str, change: Any) -> Path:
    data = ConfigDir().load(name)
    change(data)
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def _no_risk_robot(d: dict[str, Any]) -> None:
    d["robots"] = {"team": {}}


def _bad_state(d: dict[str, Any]) -> None:
    d["channels"]["taobao"]["maps"]["status"]["WAIT_SELLER_SEND_GOODS"] = "已付款"


def _bad_role(d: dict[str, Any]) -> None:
    d["types"]["仅退款"]["chains"]["shipped"][1] = {"name": "组长审核", "role": "cslead"}


def _bad_notify(d: dict[str, Any]) -> None:
    d["carriers"]["notify_role"] = "cslead"


@pytest.mark.parametrize(("name", "change", "file_key", "what"), [
    ("robots", _no_risk_robot, "channels.yaml: brushing.robot", "no robot 'risk'"),
    ("approvals", _bad_role, "approvals.yaml: types.仅退款.chains.shipped[1].role", "no role 'cslead'"),
    ("channels", _bad_notify, "channels.yaml: carriers.notify_role", "no role 'cslead'"),
])
async def test_refused_at_start_with_file_and_key(db_path: Path, tmp_path: Path, clock: ManualClock, name: str,
                                                  change: Any, file_key: str, what: str) -> None:
    cfg = _override(tmp_path / "cfg", name, change)
    with pytest.raises(ConfigError) as e:
        await build_app(load_settings(database_url=f"sqlite+aiosqlite:///{db_path}", config_dir=cfg), clock=clock,
                        migrate=False)
    assert file_key in str(e.value) and what in str(e.value)


def test_cli_exits_2_naming_file_and_key(db_path: Path, tmp_path: Path) -> None:
    cfg = _override(tmp_path / "cfg", "robots", _no_risk_robot)
    res = CliRunner().invoke(cli, ["users", "list"], env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
                                                          "ORDERBOT_CONFIG_DIR": str(cfg)})
    assert res.exit_code == 2 and "brushing.robot" in res.output and "robots.yaml" in res.output
    assert "Traceback" not in res.output


async def test_a_channel_map_may_name_a_state_not_added_yet(db_path: Path, tmp_path: Path, clock: ManualClock,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """States are added at run time (流程 加状态): a mapping prepared ahead of its state is logged at
    start with file and key, not refused; its orders are rejected until the state exists."""
    cfg = _override(tmp_path / "cfg", "channels", _bad_state)
    app = await build_app(load_settings(database_url=f"sqlite+aiosqlite:///{db_path}", config_dir=cfg), clock=clock,
                          migrate=False)
    await app.close()
    assert "channels.yaml: channels.taobao.maps.status.WAIT_SELLER_SEND_GOODS: no workflow state '已付款'" \
        in caplog.text
