"""orders.file_turns: hot writers of different processes on one SQLite file take turns on a file
lock (two FileTurns on one path behave as two processes: separate open files); a waiter wakes as
soon as the lock is free, and one cancelled while waiting never leaves the lock held."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from orders.file_turns import FileTurns


async def _hold(turns: FileTurns, name: str, log: list[str], seconds: float) -> None:
    async with turns.turn():
        log.append(f"{name} in")
        await asyncio.sleep(seconds)
        log.append(f"{name} out")


async def test_one_writer_at_a_time_and_the_next_wakes_at_once(tmp_path: Path) -> None:
    a, b = FileTurns(tmp_path / "db.writers"), FileTurns(tmp_path / "db.writers")
    log: list[str] = []
    try:
        first = asyncio.create_task(_hold(a, "a", log, 0.2))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        await asyncio.wait_for(_hold(b, "b", log, 0), 5)
        waited = time.monotonic() - t0
        await first
        assert log == ["a in", "a out", "b in", "b out"]
        assert 0.1 < waited < 2  # it waited for a, and not for a polling interval's worth after
    finally:
        a.close()
        b.close()


async def test_a_waiter_cancelled_gives_the_lock_back(tmp_path: Path) -> None:
    a, b, c = (FileTurns(tmp_path / "db.writers") for _ in range(3))
    log: list[str] = []
    try:
        first = asyncio.create_task(_hold(a, "a", log, 0.2))
        await asyncio.sleep(0.05)
        gone = asyncio.create_task(_hold(b, "b", log, 0))
        await asyncio.sleep(0.05)
        gone.cancel()  # its thread still waits for the lock and gets it when a is done
        await first
        await asyncio.wait_for(_hold(c, "c", log, 0), 5)  # b's late lock was given back
        assert gone.cancelled() and log == ["a in", "a out", "c in", "c out"]
    finally:
        for t in (a, b, c):
            t.close()
