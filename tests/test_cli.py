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
    assert r.returncode == 0 and "added 300" in r.stderr
    r = run(["demo"], fresh_db, stdin="帮助\n")
    assert "李客服（客服）可用的命令" in r.stdout
    r = run(["chat", "--as", "boss"], fresh_db, stdin="流程\n")
    assert "当前流程" in r.stdout
