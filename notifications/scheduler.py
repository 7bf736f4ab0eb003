"""Scheduler wiring. APScheduler 3.11 (AsyncIOScheduler, in-memory job store) is only a clock:
every job sweeps what the database says is due, so a restart or a second instance changes
nothing (on PostgreSQL one replica at a time runs a job: orders/job_lock.py). ``orderbot serve``
calls ``start_scheduler(app)`` after building the app, inside its event loop, and
``await stop_scheduler(scheduler)`` on exit (before ``app.close()``). Other parts pass their
jobs in (``start_scheduler(app, [JobSpec(...)])``); there is no global list.

Default job: ``sweep`` at the start of every minute (so 09:00 is on the dot), and once right at
start: escalation deadlines, then digests (config re-read each time, so a changed digest time
applies within a minute, without a restart; a missed one is sent once when the process is back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from notifications.digest import sweep_digests
from notifications.region_digest import sweep_unsigned_orders
from notifications.sweeper import WORKER, sweep_deadlines
from orders.app import App
from orders.job_lock import exclusive
from orders.reports.pool import sweep_pool

log = logging.getLogger(__name__)
JobFunc = Callable[[App], Awaitable[Any]]
TriggerFactory = Callable[[ZoneInfo], BaseTrigger]


@dataclass(frozen=True)
class JobSpec:
    """A job: an id, an async function of the app, a trigger built in the configured zone."""

    id: str
    func: JobFunc
    trigger: TriggerFactory
    run_on_start: bool = False


async def sweep(app: App) -> None:
    """Everything that is due now: deadlines first, then digests, the nightly customer pool, then the
    48-hour unsigned list."""
    await sweep_deadlines(app, worker=WORKER)
    await sweep_digests(app, worker=WORKER)
    await sweep_pool(app, worker=WORKER)
    await sweep_unsigned_orders(app, worker=WORKER)


def default_jobs(app: App) -> list[JobSpec]:
    return [JobSpec("sweep", sweep, lambda tz: CronTrigger(second=0, timezone=tz), run_on_start=True)]


_RUNNING: set[asyncio.Task[Any]] = set()


async def _run(app: App, spec: JobSpec) -> None:
    task = asyncio.current_task()
    if task is not None:
        _RUNNING.add(task)
    try:
        async with exclusive(app.db, spec.id) as mine:
            if mine:
                await spec.func(app)
            else:
                log.debug("job %s is running in another process; this tick is skipped", spec.id)
    except Exception:  # a failed sweep is retried by the next run; never kill the scheduler
        log.exception("scheduled job %s failed", spec.id)
    finally:
        if task is not None:
            _RUNNING.discard(task)


def start_scheduler(app: App, jobs: Sequence[JobSpec] = ()) -> AsyncIOScheduler:
    """Start the default jobs and ``jobs`` on the running event loop (a job id given twice: the
    later one wins); returns the scheduler (stop it with ``stop_scheduler``). Jobs should only
    sweep rows that are due, claimed atomically, e.g. a channel pull every 5 minutes:
    ``JobSpec("pull", pull_due, lambda tz: IntervalTrigger(minutes=5, timezone=tz), run_on_start=True)``."""
    tz = ZoneInfo(app.settings.tz)
    sched = AsyncIOScheduler(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1,
                                                        "misfire_grace_time": 120})
    for spec in {j.id: j for j in [*default_jobs(app), *jobs]}.values():
        extra: dict[str, Any] = {"next_run_time": datetime.now(tz)} if spec.run_on_start else {}
        sched.add_job(_run, spec.trigger(tz), args=[app, spec], id=spec.id, name=spec.id,
                      replace_existing=True, **extra)
    sched.start()
    log.info("scheduler started (%s): %s", app.settings.tz, ", ".join(j.id for j in sched.get_jobs()))
    return sched


async def stop_scheduler(sched: AsyncIOScheduler) -> None:
    """Stop the clock and let running jobs finish their transaction (call before ``app.close()``)."""
    if sched.running:
        sched.shutdown(wait=False)
    loop = asyncio.get_running_loop()
    running = [t for t in _RUNNING if t.get_loop() is loop and not t.done()]
    if running:
        await asyncio.gather(*running, return_exceptions=True)
