"""``orderbot serve --workers 2``: two processes on one port (SO_REUSEPORT) sharing the inbox by
claims; every message is answered once, in each user's order, both workers take part, and SIGTERM
to the parent stops both cleanly."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.test_crash_recovery import Run, check, run_dir, wait_for

__all__ = ["run_dir"]  # the fixture, shared with the crash tests


async def start_workers(run: Run, http: aiohttp.ClientSession, n: int) -> None:
    log = (run.tmp / "serve.log").open("ab")
    run.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", "serve", "--workers", str(n),
        env=run.env(), stdout=log, stderr=log)
    end = time.monotonic() + 120
    while time.monotonic() < end:  # both children registered and one answers
        if run.query("select count(*) from processes where stopped_at is null") >= n:
            async with http.get(f"http://127.0.0.1:{run.port}/healthz") as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise AssertionError("workers did not come up:\n" + (run.tmp / "serve.log").read_text()[-3000:])


@pytest.mark.timeout(300)
async def test_two_workers_answer_each_message_once_in_order(run_dir: Path) -> None:
    fake = await FakeWeCom().start()
    run = Run(run_dir, run_dir / "orderbot.db", fake)
    try:
        # a new connection per request: the kernel spreads them over both workers
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            await start_workers(run, http, 2)
            await run.say_all(http, 6)
            await wait_for(run.all_delivered, 60, "every reply")
            await asyncio.sleep(0.5)  # a late duplicate would show up now
            assert run.proc is not None
            run.proc.terminate()
            assert await asyncio.wait_for(run.proc.wait(), 30) == 0
        check(run, possible_dups=0, kills=0)
        assert run.query("select count(*) from wecom_inbox where status != 'done'") == 0
        assert run.query("select count(distinct claimed_by) from wecom_inbox") == 2  # both workers worked
        assert run.query("select count(*) from processes where stopped_at is null") == 0  # both stopped cleanly
    finally:
        if run.proc is not None and run.proc.returncode is None:
            run.proc.kill()
            await run.proc.wait()
        await fake.close()


@pytest.mark.timeout(300)
async def test_workers_stop_by_themselves_when_the_parent_is_killed(run_dir: Path) -> None:
    """SIGKILL to the parent cannot be passed on: each child notices its parent is gone and stops
    cleanly (its process row marked stopped) instead of serving on as an orphan."""
    fake = await FakeWeCom().start()
    run = Run(run_dir, run_dir / "orderbot.db", fake)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            await start_workers(run, http, 2)
        assert run.proc is not None
        run.proc.kill()
        await run.proc.wait()
        end = time.monotonic() + 60
        while run.query("select count(*) from processes where stopped_at is null"):
            assert time.monotonic() < end, "the workers kept running:\n" + (run.tmp / "serve.log").read_text()[-3000:]
            await asyncio.sleep(0.2)
        assert "is gone: stopping" in (run.tmp / "serve.log").read_text()
    finally:
        if run.proc is not None and run.proc.returncode is None:
            run.proc.kill()
            await run.proc.wait()
        await fake.close()
