"""The orderbot command line, run as a real process against a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import canon

EXE = [sys.executable, "-c", "from bot.cli import main; main()"]


def run(args: list[str], db: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "ORDERBOT_LOG_LEVEL": "WARNING"}
    return subprocess.run([*EXE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


def test_users_import_chat_and_workflow(fresh_db: Path, tmp_path: Path) -> None:
    r = run(["users", "add", "kf1", "--name", "小王", "--role", "客服", "--dept", "客服部"], fresh_db)
    assert r.returncode == 0, r.stderr
    assert "kf1 小王 cs" in r.stdout
    bad = run(["users", "add", "kf2", "--name", "x", "--role", "厨师"], fresh_db)
    assert bad.returncode == 2 and "没有角色「厨师」" in bad.stderr

    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(canon("C1")) + "\n{oops\n" + json.dumps(canon("C2")) + "\n", encoding="utf-8")
    r = run(["import", str(path)], fresh_db)
    assert r.returncode == 1
    assert "line 2: broken JSON" in r.stderr and "added 2" in r.stderr
    r = run(["import", str(path)], fresh_db)
    assert "added 0" in r.stderr and "unchanged 2" in r.stderr

    r = run(["chat", "--as", "kf1"], fresh_db, stdin="查 BG260122-0002\n推进 BG260122-0002\n")
    assert r.returncode == 0, r.stderr
    assert "订单 BG260122-0002" in r.stdout and "支付成功 → 仓库分单" in r.stdout

    r = run(["workflow", "show"], fresh_db)
    assert "1. 支付成功" in r.stdout and "已取消" in r.stdout
    r = run(["workflow", "show", "--mermaid"], fresh_db)
    assert r.stdout.startswith("stateDiagram-v2")


@pytest.mark.parametrize("cmd", [[], ["chat"], ["demo"], ["seed-demo"], ["import"], ["users"], ["users", "add"],
                                 ["workflow", "show"]])
def test_every_subcommand_has_help(cmd: list[str], fresh_db: Path) -> None:
    r = run([*cmd, "--help"], fresh_db)
    assert r.returncode == 0 and "Usage" in r.stdout


def test_seed_demo_then_demo_chat(fresh_db: Path) -> None:
    r = run(["seed-demo", "--orders", "300"], fresh_db)
    assert r.returncode == 0 and "added 840" in r.stderr  # 300 + the showcase, region and baseline orders
    r = run(["demo"], fresh_db, stdin="帮助\n")
    assert "李客服（客服）可用的命令" in r.stdout
    r = run(["chat", "--as", "boss"], fresh_db, stdin="流程\n")
    assert "当前流程" in r.stdout


def test_commands_needing_data_refuse_a_missing_or_empty_database(fresh_db: Path) -> None:
    for cmd in (["digest", "--print"], ["outbox"], ["chat", "--as", "cs01"],
                ["export", "--from", "2026-01-01", "--to", "2026-01-31"]):
        r = run(cmd, fresh_db)
        assert r.returncode == 2, (cmd, r.stderr)
        assert f"no database at {fresh_db}" in r.stderr and "make demo" in r.stderr
        assert not fresh_db.exists()  # nothing created silently
    assert run(["users", "list"], fresh_db).returncode == 0  # a command that may start a database does
    r = run(["digest", "--print"], fresh_db)
    assert r.returncode == 2 and "has no orders" in r.stderr and "orderbot seed-demo" in r.stderr
    r = run(["chat", "--as", "cs01"], fresh_db, stdin="帮助\n")
    assert r.returncode == 2 and "no user 'cs01'" in r.stderr and "admin\t管理员" in r.stderr
    assert "make demo" in r.stderr and r.stdout == ""


def test_unknown_chat_user_lists_the_users(fresh_db: Path) -> None:
    assert run(["seed-demo", "--orders", "20"], fresh_db).returncode == 0
    r = run(["chat", "--as", "cs99"], fresh_db, stdin="帮助\n")
    assert r.returncode == 2 and "no user 'cs99'" in r.stderr
    assert "cs01\t李客服\tcs" in r.stderr and "temp01\t钱临时\twarehouse_temp" in r.stderr
    assert "make demo" not in r.stderr


def test_every_command_defaults_to_the_same_database(monkeypatch: pytest.MonkeyPatch) -> None:
    from config import load_settings

    monkeypatch.delenv("ORDERBOT_DATABASE_URL", raising=False)
    assert load_settings().sqlite_file == Path("var/orderbot.db")
    makefile = (Path(__file__).parents[1] / "Makefile").read_text(encoding="utf-8")
    assert "DATABASE_URL=" not in makefile and "demo.db" not in makefile  # make demo uses the default too
