"""Shared bench helpers: figures printed as `figure: value unit`, percentiles, and a fresh
migrated SQLite app with the demo users and orders."""

from __future__ import annotations

import resource
import statistics
import tempfile
from pathlib import Path

from bot.dispatch import Dispatcher
from config import load_settings
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.intake.importer import Importer
from orders.seed import DEMO_USERS, demo_orders
from orders.users import upsert_user


async def fresh_app(n_orders: int, folder: Path | None = None) -> tuple[App, Dispatcher]:
    folder = folder or Path(tempfile.mkdtemp(prefix="orderbot-bench-"))
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}", data_dir=folder / "var")
    clock = ManualClock()
    app = await build_app(settings, clock=clock)
    async with app.db.session() as s:
        for uid, name, dept, roles in DEMO_USERS:
            await upsert_user(s, app.roles, user_id=uid, name=name, roles=roles, department=dept, now=clock.now())
    if n_orders:
        await Importer(app.db, app.clock, app.workflows, app.settings.tz).import_orders(
            demo_orders(n_orders, clock.now()))
    from handlers import registry

    return app, Dispatcher(app, registry)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figure(name: str, value: float | int | str, unit: str = "") -> None:
    v = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name}: {v} {unit}".rstrip(), flush=True)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]
