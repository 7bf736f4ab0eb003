"""Canonical JSON Lines import: good lines land, bad ones are reported by line number."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from orders.app import App
from orders.intake.importer import Importer, parse_lines
from orders.models import Discount, Order, OrderLine
from tests.factories import canon


def _importer(app: App) -> Importer:
    return Importer(app.db, app.clock, app.workflows, app.settings.tz)


async def _orders(app: App) -> int:
    async with app.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Order)) or 0)


async def test_import_good_and_bad_lines(app: App, tmp_path: Path) -> None:
    bad_qty = canon("N3")
    bad_qty["items"][0]["qty"] = -1
    missing = canon("N4")
    del missing["paid"]
    float_money = canon("N5", paid=299.5)
    lines = [
        json.dumps(canon("N1", channel="jd")),
        "{broken json",
        json.dumps(bad_qty),
        json.dumps(missing),
        json.dumps(float_money),
        json.dumps(canon("N6", status="不存在的状态")),
        json.dumps(canon("N7", created_at="2026-01-22T09:00:00")),
        "",
        json.dumps(canon("N2", channel="douyin", status="拣货中")),
        "[1, 2]",
    ]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = await _orders(app)
    rep = await _importer(app).import_file(path)
    assert rep.added == 2 and rep.failed == 7
    reasons = dict(rep.errors)
    assert "broken JSON" in reasons[2]
    assert "items.0.qty" in reasons[3] and "greater than 0" in reasons[3]
    assert "paid" in reasons[4] and "Field required" in reasons[4]
    assert "not a float" in reasons[5]
    assert "unknown state" in reasons[6]
    assert "UTC offset" in reasons[7]
    assert "JSON object" in reasons[10]
    assert await _orders(app) == before + 2
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.channel_order_id == "N2"))
        assert o is not None and o.status == "拣货中" and o.paid_fen == 29950 and o.order_no == "BG260122-0007"
        assert o.phone_masked == "138****5678" and o.phone_hash and "13812345678" not in o.phone_hash
        lines_n = await s.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.order_id == o.id))
        discs = (await s.scalars(select(Discount).where(Discount.order_id == o.id))).all()
    assert lines_n == 2
    assert sorted(d.amount_fen for d in discs) == [-430, 1280, 5000]


async def test_reimport_changes_nothing_and_status_moves(app: App) -> None:
    imp = _importer(app)
    rep = await imp.import_parsed(parse_lines([json.dumps(canon("T1001"))]))
    assert (rep.added, rep.unchanged, rep.moved) == (0, 1, 0)
    rep = await imp.import_parsed(parse_lines([json.dumps(canon("T1001", status="仓库分单"))] * 2))
    assert (rep.added, rep.moved, rep.unchanged) == (0, 1, 1)
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.channel_order_id == "T1001"))
        assert o is not None and o.status == "仓库分单"
