"""How long `make demo` spends seeding: the whole demo (import, history, the flows through the
real services) into a fresh SQLite file, median of runs. `--quick`: one run."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.common import figure, median
from config import load_settings
from orders.app import build_app
from orders.models import Order
from orders.seed import seed_demo


async def one(folder: Path) -> tuple[float, int]:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{folder / 'demo.db'}", data_dir=folder / "var")
    app = await build_app(settings)
    t0 = time.perf_counter()
    await seed_demo(app)
    took = time.perf_counter() - t0
    async with app.db.session() as s:
        n = int(await s.scalar(select(func.count()).select_from(Order)) or 0)
    await app.close()
    return took, n


async def main(runs: int) -> None:
    times, n = [], 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="orderbot-demo-") as d:
            took, n = await one(Path(d))
            times.append(took)
    figure("demo seed time (median)", median(times), "s")
    figure("demo orders", n)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    asyncio.run(main(1 if args.quick else 3))
