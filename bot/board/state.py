"""What every board handler is handed (typed on the aiohttp application)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from bot.board.session import Signer
from orders.app import App
from orders.models import User


class CodeResolver(Protocol):
    async def user_of_code(self, code: str) -> dict[str, object]: ...


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (the client address), in process."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        q = self._hits.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) >= self.limit:
            return False
        q.append(now)
        if len(self._hits) > 10_000:  # forget idle clients
            self._hits = {k: v for k, v in self._hits.items() if v}
        return True


class PageCache:
    """Built page contexts kept ``seconds`` per key (analytics built over days of data: the first
    request of a period builds, the others and concurrent ones reuse it)."""

    def __init__(self, seconds: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._kept: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}

    async def get(self, key: tuple[str, ...], build: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        async with self._locks.setdefault(key, asyncio.Lock()):
            hit = self._kept.get(key)
            if hit is None or not 0 <= self.clock() - hit[0] < self.seconds:
                hit = self._kept[key] = (self.clock(), await build())
            return hit[1]


@dataclass
class Board:
    app: App
    wecom: CodeResolver
    signer: Signer
    limiter: RateLimiter = field(default_factory=RateLimiter)
    cache: PageCache = field(default_factory=PageCache)


BOARD: web.AppKey[Board] = web.AppKey("board", Board)
USER: web.RequestKey[User] = web.RequestKey("board_user", User)  # the logged-in user
CSRF: web.RequestKey[str] = web.RequestKey("board_csrf", str)  # the session's CSRF token


def board_of(request: web.Request) -> Board:
    return request.app[BOARD]


def user_of(request: web.Request) -> User:
    return request[USER]
