"""A small promotion day through the real dispatcher and database: every wrong scan refused."""

from __future__ import annotations

from pathlib import Path

from bench.common import fresh_app
from bench.mis_ship import simulate


async def test_every_wrong_scan_is_refused(tmp_path: Path) -> None:
    app, dispatcher = await fresh_app(60, tmp_path)
    try:
        r = await simulate(app, dispatcher, wrong=0.25, seed=3)
    finally:
        await app.close()
    assert r.orders == 60 and r.packed == 60
    assert r.wrong_scans >= 5
    assert r.refused == r.wrong_scans and r.mis_shipped == 0
