"""What ``orderbot serve`` runs beside the callback server: the scheduler (escalations, digests,
channel pulls) and the speech pool, warmed at start so the first voice message does not wait."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.intake_jobs import run_due_pulls
from notifications.scheduler import JobSpec, start_scheduler, stop_scheduler
from orders.app import App
from stt.service import STT_POOL, SttUnavailable, get_pool

log = logging.getLogger(__name__)
PULL_EVERY_MINUTES = 1  # each shop's every_minutes (channels.yaml) decides whether it is due


async def _pulls(app: App) -> None:
    for r in await run_due_pulls(app):
        (log.warning if r.error else log.info)("pull %s", r.text())


@dataclass
class Background:
    scheduler: AsyncIOScheduler
    warm: asyncio.Task[Any] | None

    async def stop(self, app: App) -> None:
        """Stop the clock (running jobs finish), then the speech workers."""
        await stop_scheduler(self.scheduler)
        if self.warm is not None:  # a model still loading in its thread: let it finish, then close it
            await asyncio.gather(self.warm, return_exceptions=True)
        pool = app.get(STT_POOL)
        if pool is not None:
            await asyncio.to_thread(pool.close)


async def _warm(app: App) -> None:
    try:
        await get_pool(app)
    except SttUnavailable as e:
        log.warning("speech recognition off: %s (voice reports wait for a person)", e)


async def start_background(app: App, jobs: Sequence[JobSpec] = ()) -> Background:
    """Start the scheduler (the default sweep, channel pulls and ``jobs``) and warm the speech pool."""
    pulls = JobSpec("pull", _pulls, lambda tz: IntervalTrigger(minutes=PULL_EVERY_MINUTES, timezone=tz),
                    run_on_start=True)
    sched = start_scheduler(app, [pulls, *jobs])
    warm = asyncio.create_task(_warm(app), name="stt-warm") if app.settings.stt_model else None
    if warm is None:
        log.warning("ORDERBOT_STT_MODEL is not set: voice reports are kept for manual transcription")
    return Background(sched, warm)
