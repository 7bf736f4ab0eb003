"""Scheduler wiring: the jobs, their triggers in ORDERBOT_TZ with day names, a sweep at start."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.testing import ChatBot
from notifications.scheduler import JobSpec, start_scheduler, stop_scheduler
from orders.app import App
from orders.clock import ManualClock
from tests.aftersales.helpers import last_id, outbox


async def _until(cond_coro, limit: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    """Wait for the scheduler's first run (real async work, bounded; no sleeping for hours)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        if await cond_coro():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_jobs_and_triggers(app: App) -> None:
    ran: list[str] = []

    async def pull(a: App) -> None:
        ran.append("pull")

    sched = start_scheduler(app, [JobSpec("pull", pull, lambda tz: IntervalTrigger(minutes=5, timezone=tz),
                                          run_on_start=True)])
    try:
        jobs = {j.id: j for j in sched.get_jobs()}
        assert set(jobs) == {"sweep", "pull"}
        cron = jobs["sweep"].trigger
        assert isinstance(cron, CronTrigger) and str(cron.timezone) == "Asia/Shanghai"
        nxt = cron.get_next_fire_time(None, datetime(2026, 1, 23, 0, 59, 37, tzinfo=UTC))  # 08:59:37
        assert nxt is not None and nxt.astimezone(UTC) == datetime(2026, 1, 23, 1, 0, tzinfo=UTC)  # 09:00:00

        async def pulled() -> bool:
            return ran == ["pull"]

        assert await _until(pulled)
    finally:
        await stop_scheduler(sched)


async def test_start_sweeps_a_deadline_missed_while_down(bot: ChatBot, app: App, clock: ManualClock) -> None:
    await bot.say("cs01", "售后 BG260122-0001 退款 10 发错颜色")
    mark = await last_id(app)
    clock.advance(timedelta(hours=4, minutes=10))  # passed while nothing ran
    sched = start_scheduler(app)
    try:
        async def reminded() -> bool:
            return any("cslead" in r.target for r in await outbox(app, "text", since=mark))

        assert await _until(reminded)
    finally:
        await stop_scheduler(sched)
    rows = await outbox(app, "text", since=mark)
    assert sorted(r.target for r in rows) == ["cslead", "fin01"]
