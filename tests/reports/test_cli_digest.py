"""`orderbot digest --print / --send` against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from bot.cli import cli


@pytest.fixture
def env(db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORDERBOT_DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    monkeypatch.setenv("ORDERBOT_DATA_DIR", str(tmp_path / "var"))
    return db_path


def test_print_renders_and_send_queues(env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["digest", "--print", "--chart", str(tmp_path / "c.png")])
    assert res.exit_code == 0, res.output
    assert "运营日报" in res.output and "BG260122-0001" in res.output and "无对账数据" in res.output
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    res = runner.invoke(cli, ["digest", "--send"])
    assert res.exit_code == 0, res.output
    eng = create_engine(f"sqlite:///{env}")
    with eng.connect() as c:
        rows = c.execute(text("SELECT msgtype, target FROM outbox ORDER BY id")).all()
        markers = c.execute(text("SELECT count(*) FROM due_items WHERE kind='digest'")).scalar()
    eng.dispose()
    assert [r.msgtype for r in rows][-1] == "image" and {r.target for r in rows} == {"boss"}
    assert markers == 0  # a manual send leaves the scheduled one alone
    assert runner.invoke(cli, ["digest"]).exit_code == 2
    assert runner.invoke(cli, ["digest", "--print", "--name", "nope"]).exit_code == 2
