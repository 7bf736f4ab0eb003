"""``orderbot serve --workers N``: a parent that starts N ``orderbot serve --reuse-port`` children.

Each child is a whole ``serve`` (callback server, inbox processor, outbox worker, scheduler) bound
to the same host:port with SO_REUSEPORT, so the kernel spreads incoming connections over them; they
share the inbox, the outbox, the due rows and the send limits through the database by claims
(docs/scaling.md), exactly as separate replicas do. The parent only supervises: SIGINT/SIGTERM are
passed on (each child finishes its in-flight work), and a child that dies is started again. A
parent killed outright (SIGKILL, OOM) cannot pass anything on: each child notices it is gone and
stops by itself at its next heartbeat (``bot.wecom.runner``), so a restarted parent never finds the old children still
serving beside its new ones."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

log = logging.getLogger(__name__)
RESTART_DELAY = 1.0  # seconds before a died child is started again
SUPERVISOR = "ORDERBOT_SUPERVISOR_PID"  # set for each child: it stops when that parent is gone (bot.wecom.runner)


def child_command() -> list[str]:
    return [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--reuse-port"]


async def supervise(n: int, *, stop: asyncio.Event | None = None) -> int:
    """Run ``n`` children until SIGINT/SIGTERM (or ``stop``); 0 when all stopped cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    children: list[asyncio.subprocess.Process] = []

    async def keep(i: int) -> int:
        while True:
            env = {**os.environ, SUPERVISOR: str(os.getpid())}
            proc = await asyncio.create_subprocess_exec(*child_command(), env=env)
            children.append(proc)
            if stop.is_set():  # the stop came while it was starting
                proc.send_signal(signal.SIGTERM)
            log.info("worker %d started (pid %d)", i, proc.pid)
            code = await proc.wait()
            children.remove(proc)
            if stop.is_set():
                return code
            log.error("worker %d (pid %d) exited with %d; starting it again", i, proc.pid, code)
            started = time.monotonic()
            try:  # a stop while waiting ends the loop
                await asyncio.wait_for(stop.wait(), RESTART_DELAY)
                return code
            except TimeoutError:
                log.debug("restarting worker %d after %.1f s", i, time.monotonic() - started)

    keepers = [asyncio.create_task(keep(i), name=f"worker-{i}") for i in range(n)]
    await stop.wait()
    log.info("stopping %d workers", len(children))
    for proc in list(children):
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    codes = await asyncio.gather(*keepers)
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.remove_signal_handler(sig)
        except (NotImplementedError, RuntimeError):
            pass
    return 0 if all(c == 0 for c in codes) else 1
