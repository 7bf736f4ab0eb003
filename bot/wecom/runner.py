"""``orderbot serve``: the callback server, inbox replay and the outbox worker in one process,
stopped gracefully on SIGINT/SIGTERM (in-flight messages and sends are finished first)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Sequence

from aiohttp import web
from apscheduler.triggers.interval import IntervalTrigger

from bot.dispatch import Dispatcher
from bot.keys import MEDIA_FETCHER
from bot.wecom.acks import AckGate
from bot.wecom.collector import tuned_for_serving
from bot.wecom.processor import InboxProcessor
from bot.wecom.server import QuietCallbacks, RouteAdder, create_web_app
from bot.wecom.workers import SUPERVISOR
from notifications.scheduler import JobSpec
from notifications.wecom_api import WeComClient
from notifications.worker import OutboxWorker
from orders import processes
from orders.app import App
from orders.retention import purge_raw

log = logging.getLogger(__name__)
REPLAY_EVERY = 5  # seconds: a dead replica's claimed messages are picked up by a peer this soon


async def _purge(app: App) -> None:
    """Raw payloads past ORDERBOT_RETENTION_DAYS are purged (README, "Privacy")."""
    done = await purge_raw(app.db, app.clock.now(), app.settings.retention_days)
    if done.inbox or done.outbox:
        log.info("retention: purged %d inbox messages and %d outbox payloads", done.inbox, done.outbox)


async def _heartbeat(app: App, stop: asyncio.Event) -> None:
    """Beat every ``processes.HEARTBEAT`` so peers know this process's claims are live. A child of
    ``serve --workers`` whose supervising parent is gone (killed outright: it could not pass on a
    signal) stops instead of serving on as an orphan."""
    parent = os.environ.get(SUPERVISOR, "")
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), processes.HEARTBEAT.total_seconds())
        except TimeoutError:
            pass
        if parent.isdigit() and os.getppid() != int(parent):
            log.warning("the supervising process %s is gone: stopping", parent)
            stop.set()
        try:
            async with app.db.write_session() as s:
                await processes.beat(s, app.clock.now())
        except Exception:
            log.exception("heartbeat failed")


def client_for(app: App) -> WeComClient:
    s = app.settings
    return WeComClient(api_base=s.wecom_api_base, corp_id=s.wecom_corp_id, secret=s.wecom_secret,
                       agent_id=s.wecom_agent_id, clock=app.clock)


async def serve(app: App, dispatcher: Dispatcher, *, stop: asyncio.Event | None = None,
                extra_routes: Sequence[RouteAdder] | None = None, reuse_port: bool = False) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM arrives). ``extra_routes`` default to the
    carrier/platform pushes (bot.intake_http). Beside the server: the outbox worker, and the
    scheduler and speech pool of bot.background (with a job every few seconds picking up inbox rows
    whose claim is free again, e.g. a peer process died mid-message). ``reuse_port``: bind with
    SO_REUSEPORT so several processes share the port (``serve --workers N``, bot/wecom/workers.py)."""
    from bot.background import start_background
    from bot.board import add_board_routes
    from bot.intake_http import add_intake_routes

    client = client_for(app)
    if extra_routes is None:
        extra_routes = [lambda web_app: add_intake_routes(web_app, app),
                        lambda web_app: add_board_routes(web_app, app, client)]

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    async with app.db.session() as s:  # claims name this process; a restart frees the last one's at once
        await processes.register(s, app.clock.now())
    beating = asyncio.create_task(_heartbeat(app, stop), name="heartbeat")
    app[MEDIA_FETCHER] = client
    acks = AckGate()  # sends and processing hold back while callbacks are answered (bot.wecom.acks)
    worker = OutboxWorker(app, client, before_send=acks.wait)
    processor = InboxProcessor(app, dispatcher, on_outbox=worker.wake, acks=acks)
    web_app = create_web_app(app, dispatcher, extra_routes=extra_routes, processor=processor)
    runner = web.AppRunner(web_app, handle_signals=False, access_log_class=QuietCallbacks)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.http_host, app.settings.http_port, reuse_port=reuse_port or None)
    await site.start()
    log.info("listening on http://%s:%d (WeCom callback at /wecom/callback)", app.settings.http_host,
             app.settings.http_port)
    worker_stop = asyncio.Event()
    worker_task = asyncio.create_task(worker.run(worker_stop), name="outbox-worker")
    replay = JobSpec("inbox-replay", lambda _app: processor.replay(),
                     lambda tz: IntervalTrigger(seconds=REPLAY_EVERY, timezone=tz))
    purge = JobSpec("privacy-purge", _purge, lambda tz: IntervalTrigger(hours=1, timezone=tz), run_on_start=True)
    jobs = await start_background(app, [replay, purge])
    with tuned_for_serving():  # start-up done: its heap frozen, fewer collections until stopped (bot.wecom.collector)
        try:
            await stop.wait()
        finally:
            log.info("stopping: finishing in-flight messages")
            await jobs.stop(app)
            await runner.cleanup()  # stops accepting, then drains the inbox processor (on_shutdown)
            worker_stop.set()
            await worker_task
            await client.close()
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)  # out of its transaction before the engine closes
            async with app.db.session() as s:
                await processes.stopped(s, app.clock.now())
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.remove_signal_handler(sig)
                except (NotImplementedError, RuntimeError):
                    pass
            log.info("stopped")
