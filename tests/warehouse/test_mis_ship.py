"""A small promotion day through the real dispatcher and database: wrong items, short picks and
holds all stay in the warehouse with the checks; without them they leave."""

from __future__ import annotations

from pathlib import Path

from bench.common import fresh_app
from bench.mis_ship import ean13, simulate
from orders.warehouse.picking import gtin_ok


async def test_no_wrong_parcel_leaves_with_the_checks(tmp_path: Path) -> None:
    app, dispatcher = await fresh_app(30, tmp_path)
    try:
        r = await simulate(app, dispatcher, wrong=0.3, short=0.2, held=0.15, seed=3)
    finally:
        await app.close()
    assert r.orders == 30
    assert r.naive_wrong >= 8 and r.naive_packed == 30  # the mistakes made that day
    assert r.refused_scans >= 5 and r.refused_packs >= 2 and r.held >= 2
    assert r.wrong_parcels == 0 and r.packed == 30 - r.held


def test_bench_tags_are_valid_ean13() -> None:
    assert all(gtin_ok(ean13(i)) for i in range(1, 50))
