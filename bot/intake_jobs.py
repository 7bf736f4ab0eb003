"""Intake wiring on the App: the channel adapters, an importer with the configured brushing rule,
and the pull job the scheduler calls.

Scheduler contract: call ``await run_due_pulls(app)`` every minute or so (or every 15 minutes);
it pulls only the shops whose ``pull_cursors.due_at`` has passed (each shop's own period,
``every_minutes`` in ``config/channels.yaml``), so calling it often or from two processes is safe
for correctness (a window is re-pulled at worst, and the upsert makes that harmless). Orders a
pull cannot map are logged and appended to ``<data_dir>/rejects/pull-<shop>.csv``."""

from __future__ import annotations

from orders.app import WAREHOUSE, App, AppKey
from orders.intake.brushing import BrushingRule
from orders.intake.channels import Channels
from orders.intake.importer import Importer
from orders.intake.pull import PullResult, ShopConfig, pull_due

CHANNELS: AppKey[Channels] = AppKey("channels", Channels)


def channels_of(app: App) -> Channels:
    return app.cached(CHANNELS, lambda: Channels.load(app.config, app.settings.tz))


def build_importer(app: App) -> Importer:
    return Importer(app.db, app.clock, app.workflows, app.settings.tz, service=app.orders,
                    brushing_rule=BrushingRule.from_config(channels_of(app).raw.get("brushing")),
                    warehouse=app[WAREHOUSE])


def shops_of(app: App) -> list[ShopConfig]:
    return [ShopConfig.from_dict(d) for d in channels_of(app).raw.get("shops") or []]


async def run_due_pulls(app: App, *, only: str | None = None, force: bool = False) -> list[PullResult]:
    """Pull every shop that is due (all of ``only`` when ``force``). One result per shop pulled."""
    shops = [s for s in shops_of(app) if only is None or s.name == only]
    return await pull_due(app.db, app.clock, channels_of(app), build_importer(app), shops, force=force,
                          rejects_dir=app.settings.data_dir / "rejects")
