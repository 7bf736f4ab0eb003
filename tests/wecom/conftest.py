"""Fixtures of the WeCom transport tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orders.app import App
from tests.wecom.harness import Harness, make_harness


@pytest.fixture
async def wecom(app: App) -> AsyncIterator[Harness]:
    async for h in make_harness(app):
        yield h
