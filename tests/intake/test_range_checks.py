"""Imports keep the good rows: every value range-checked (money within what the schema stores,
times within 2000..2099), a bad row rejected with its reason on every path (JSON Lines, export
files, platform pulls)."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import cli
from orders.app import App
from orders.intake.canonical import CanonOrder
from orders.models import Order
from tests.factories import canon
from tests.fakes import payloads as P
from tests.intake.helpers import order_of, pull_in

HUGE = "99999999999999999"
FAR = "9999-12-31T23:59:59-14:00"
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "pdd_orders.csv"


def _run(db_path: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["import", *args], env={"ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.output


async def _count(app: App) -> int:
    async with app.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Order)) or 0)


async def test_jsonl_out_of_range_rows_are_rejected_good_rows_kept(app: App, db_path: Path, tmp_path: Path) -> None:
    big_price = canon("R2")
    big_price["items"][0]["price"] = HUGE
    big_int = canon("R3", paid=int(HUGE))
    many = canon("R5")
    many["items"] = [{"sku": "S", "name": "n", "qty": 100000, "price": "20000000.00"}]  # each fits, the sum not
    lines = [canon("R1"), big_price, big_int, canon("R4", created_at=FAR), many,
             canon("R6", paid_at="1970-01-01T00:00:00Z"), canon("R7")]
    f = tmp_path / "o.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    before = await _count(app)
    code, out = await asyncio.to_thread(_run, db_path, str(f))
    assert code == 1 and "added 2" in out and "failed 5" in out and "Traceback" not in out, out
    rejects = {int(r[0]): (r[1], r[2]) for r in list(csv.reader((tmp_path / "o.jsonl.rejects.csv").open(
        encoding="utf-8-sig")))[1:]}
    assert rejects[2][0] == "items.0.price" and "beyond what the hub stores" in rejects[2][1]
    assert rejects[3][0] == "paid" and "beyond what the hub stores" in rejects[3][1]
    assert rejects[4][0] == "created_at" and "outside 2000..2099" in rejects[4][1]
    assert "amounts too large" in rejects[5][1]
    assert rejects[6][0] == "paid_at"
    assert await _count(app) == before + 2
    assert (await order_of(app, "taobao", "R7")).paid_fen == 29950


async def test_export_row_out_of_range_is_rejected(app: App, db_path: Path, tmp_path: Path) -> None:
    with SAMPLE.open(encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    good = list(rows[0])
    good[header.index("订单号")] = "260122-ok"
    rows[0][header.index("用户实付金额(元)")] = HUGE
    rows[1][header.index("订单成交时间")] = "9999-12-31 23:59:59"
    f = tmp_path / "pdd.csv"
    with f.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows, good])
    code, out = await asyncio.to_thread(_run, db_path, str(f))
    assert code == 1 and "added 1" in out and "failed 2" in out and "Traceback" not in out, out
    assert "用户实付金额(元): amount" in out and "订单成交时间: time 9999-12-31" in out


async def test_pull_payloads_out_of_range_are_rejected_not_raised(app: App) -> None:
    huge_money = P.douyin("DY-R1")
    huge_money["pay_amount"] = int(HUGE)
    huge_time = P.douyin("DY-R2")
    huge_time["create_time"] = 10**15
    rep = await pull_in(app, "douyin", huge_money, huge_time, P.douyin("DY-R3"))
    assert rep.added == 1 and len(rep.rejects) == 2
    assert {r.row for r in rep.rejects} == {1, 2}
    assert (await order_of(app, "douyin", "DY-R3")).paid_fen > 0


def test_the_edges_of_the_time_range_are_read_with_their_offsets() -> None:
    """Inside is 2000-01-01T00:00Z up to (not including) 2100-01-01T00:00Z, whatever the offset."""
    inside = ["2000-01-01T08:00:00+08:00", "2099-12-31T23:59:59+00:00", "2100-01-01T07:59:59+08:00",
              "2050-06-01T00:00:00-12:00"]
    outside = ["2000-01-01T07:59:59+08:00", "1999-12-31T23:59:59+00:00", "2099-12-31T23:00:00-01:00",
               "2100-01-01T00:00:00+00:00"]
    for at in inside:
        assert CanonOrder.model_validate(canon("EDGE-1", created_at=at, paid_at=None)).created_at.isoformat() == at
    for at in outside:
        with pytest.raises(ValidationError, match=r"outside 2000\.\.2099"):
            CanonOrder.model_validate(canon("EDGE-2", created_at=at, paid_at=None))
