"""Acknowledgements first (bot.wecom.acks): work behind the callbacks holds back while one is
being answered, goes ahead in windows while they keep coming, and never waits when none is."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.wecom.acks import AckGate
from bot.wecom.server import PROCESSOR, WRITER, QuietCallbacks, create_web_app
from orders.seed import DEMO_USERS
from tests.wecom.harness import Harness, text_xml


async def test_no_callback_in_progress_means_no_wait() -> None:
    gate = AckGate(period=10.0, window=0.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for _ in range(100):
        await gate.wait()
    assert loop.time() - t0 < 0.5


async def test_waiters_hold_back_until_the_answer_is_given() -> None:
    gate = AckGate(period=10.0, window=0.0)
    gate._opened = asyncio.get_running_loop().time()  # a window just closed: the next is 10 s away
    order: list[str] = []

    async def work(name: str) -> None:
        await gate.wait()
        order.append(name)

    with gate.answer():
        waiters = [asyncio.create_task(work(f"w{i}")) for i in range(3)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert order == [] and gate.answering == 1
        order.append("answered")
    await asyncio.wait_for(asyncio.gather(*waiters), 1.0)
    assert order[0] == "answered" and sorted(order[1:]) == ["w0", "w1", "w2"]


async def test_a_steady_stream_of_callbacks_still_lets_work_through_in_windows() -> None:
    gate = AckGate(period=0.02, window=0.005)
    loop = asyncio.get_running_loop()
    passed: list[float] = []
    stop = asyncio.Event()

    async def callbacks() -> None:  # overlapping answers: never a quiet moment
        with gate.answer():
            while not stop.is_set():
                with gate.answer():
                    await asyncio.sleep(0.001)

    async def worker() -> None:
        while not stop.is_set():
            await gate.wait()
            passed.append(loop.time())
            await asyncio.sleep(0.001)

    stream = asyncio.create_task(callbacks())
    workers = [asyncio.create_task(worker()) for _ in range(4)]
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(stream, *workers)
    assert len(passed) >= 5  # about one window each 20 ms: progress, not starvation
    gaps = [b - a for a, b in itertools.pairwise(passed)]
    assert max(gaps) < 0.2
    # and held back: windows are a quarter of the time, so well under half of the ~1,200 passes
    # four workers make in 0.3 s with no callbacks
    assert len(passed) < 600


async def test_a_cancelled_waiter_does_not_wake_or_break_the_others() -> None:
    gate = AckGate(period=10.0, window=0.0)
    gate._opened = asyncio.get_running_loop().time()
    with gate.answer():
        a = asyncio.create_task(gate.wait())
        b = asyncio.create_task(gate.wait())
        await asyncio.sleep(0.01)
        a.cancel()
        await asyncio.sleep(0.01)
        assert a.cancelled() and not b.done()
    await asyncio.wait_for(b, 1.0)


async def test_the_callback_handler_counts_itself_in(wecom: Harness) -> None:
    """While WeCom's POST is being handled the gate shows it in progress; after the 200, none."""
    web_app = wecom.http.app
    assert web_app is not None
    gate, writer = web_app[PROCESSOR].acks, web_app[WRITER]
    assert gate is wecom.processor.acks
    seen: list[int] = []
    store = writer.store

    async def spying_store(**values: Any) -> int | None:
        seen.append(gate.answering)
        return await store(**values)

    writer.store = spying_store
    r = await wecom.say(DEMO_USERS[0][0], "帮助")
    assert r.status == 200
    assert seen == [1] and gate.answering == 0


async def test_the_outbox_worker_asks_before_each_send(wecom: Harness) -> None:
    asked: list[int] = []

    async def before_send() -> None:
        asked.append(1)

    wecom.worker.before_send = before_send
    for text in ("帮助", "帮助 查"):
        await wecom.say(DEMO_USERS[0][0], text)
    sent = await wecom.settle()
    assert sent >= 2 and len(asked) == sent


async def test_answered_callbacks_stay_out_of_the_access_log(wecom: Harness,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """``serve``'s access log (QuietCallbacks) skips callbacks answered 200 (the inbox has them),
    and keeps refused ones and every other request."""
    web_app = create_web_app(wecom.app, wecom.processor.dispatcher, processor=wecom.processor)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server(access_log_class=QuietCallbacks)  # as serve's runner has it
    async with TestClient(server) as http:
        body, params = wecom.encrypt(text_xml(DEMO_USERS[0][0], "帮助", msg_id="7000000000000000999"))
        with caplog.at_level(logging.INFO, logger="aiohttp.access"):
            assert (await http.post("/wecom/callback", params=params, data=body)).status == 200
            refused = {**params, "msg_signature": "0" * 40}
            assert (await http.post("/wecom/callback", params=refused, data=body)).status == 403
            assert (await http.get("/healthz")).status == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 2, lines
    assert '/wecom/callback?' in lines[0] and '" 403 ' in lines[0] and "/healthz" in lines[1]
    await wecom.settle()


async def test_a_burst_is_answered_whole_before_the_first_window() -> None:
    """Callbacks in progress after none: the work behind them waits the hold out (the burst's
    answers first), then goes in windows while they keep coming."""
    gate = AckGate(period=0.01, window=0.005, hold=0.08)
    loop = asyncio.get_running_loop()
    passed: list[float] = []
    with gate.answer():
        t0 = loop.time()

        async def worker() -> None:
            while loop.time() - t0 < 0.15:
                await gate.wait()
                passed.append(loop.time() - t0)
                await asyncio.sleep(0.001)

        await asyncio.gather(*(worker() for _ in range(3)))
    assert passed and min(passed) >= 0.08 - 0.002  # nothing went before the hold was out
    assert len(passed) >= 3  # then windows: progress
