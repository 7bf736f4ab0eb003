"""Acknowledgements first: while callbacks are being answered, other work on the loop holds back.

A burst of callbacks shares one event loop with the processing of the messages already stored
and the sending of their replies; a `查` takes several times an acknowledgement's CPU and runs
without yielding (its reads are inline, orders.sqlite_driver), so each one started between two
steps of an acknowledgement (read, store, answer) pushed WeCom's 200 back by its whole length.
The callback handler counts itself in; the inbox processor (before each message) and the outbox
worker (before each send) wait while any is in progress, except in a window of ``SLICE`` seconds
opened every ``PERIOD`` seconds: a steady stream of callbacks still leaves the work behind them
about half the loop (all of it when the stream pauses), so a backlog drains meanwhile. The first
window of a burst (callbacks in progress after none) opens only ``HOLD`` seconds in: a burst is
answered whole before the work behind it, unless it lasts longer than that."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

PERIOD = 0.01  # while callbacks keep coming, a window opens this often
SLICE = 0.005  # and stays open this long (a message begun in it runs on)
HOLD = 0.05  # a burst's first window opens this long after it began


class AckGate:
    def __init__(self, period: float = PERIOD, window: float = SLICE, hold: float = HOLD) -> None:
        self.period, self.window, self.hold = period, window, hold
        self._answering = 0
        self._opened = -1e9  # loop time the latest window opened
        self._tick: asyncio.Future[None] | None = None  # what the waiters wait on: quiet, or the next window
        self._timer: asyncio.TimerHandle | None = None

    @property
    def answering(self) -> int:
        """Callbacks in progress (read, stored, not yet answered)."""
        return self._answering

    @contextmanager
    def answer(self) -> Iterator[None]:
        """Around a callback's handling, from its request to its answer."""
        self._answering += 1
        if self._answering == 1 and self.period:  # a burst begins: its first window opens after the hold
            self._opened = max(self._opened, asyncio.get_running_loop().time() + self.hold - self.period)
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._release()

    def _release(self) -> None:
        tick, self._tick = self._tick, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if tick is not None and not tick.done():
            tick.set_result(None)

    async def wait(self) -> None:
        """Until no callback is in progress or a window is open; one loop round when none is."""
        if not self._answering or not self.period:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        while self._answering:
            now = loop.time()
            if 0 <= now - self._opened < self.window:
                return
            if now >= self._opened + self.period:
                self._opened = now
                return
            if self._tick is None:  # one future and one timer for all the waiters
                self._tick = loop.create_future()
                self._timer = loop.call_at(self._opened + self.period, self._release)
            await asyncio.shield(self._tick)  # a waiter cancelled does not cancel the others' tick
