"""Fixtures of the board tests: the callback server with the board, the fake WeCom login."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientResponse

from orders.app import App
from tests.wecom.harness import Harness, make_harness


@pytest.fixture
async def board(app: App) -> AsyncIterator[Harness]:
    async for h in make_harness(app, board=True):
        yield h


async def login(h: Harness, user: str | None, *, ua: str = "Mozilla/5.0 Chrome/150") -> ClientResponse:
    """The whole login dance as a browser does it; returns the answer of ``/board/auth``."""
    h.fake.login_as = user
    start = await h.http.get("/board/login?next=/board/tasks", allow_redirects=False,
                             headers={"User-Agent": ua})
    assert start.status == 302, await start.text()
    back = await h.http.session.get(start.headers["Location"].split("#")[0], allow_redirects=False)
    assert back.status == 302
    return await h.http.session.get(back.headers["Location"], allow_redirects=False)
