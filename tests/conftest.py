"""Shared fixtures. Big things are built once per session: a migrated template database (with
the demo users and a few fixed orders) is copied into a fresh file for each test."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.dispatch import Dispatcher
from bot.testing import ChatBot
from config import load_settings
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.intake.importer import Importer
from orders.seed import DEMO_USERS
from orders.users import RoleBook, upsert_user
from tests.factories import fixed_orders

os.environ.setdefault("ORDERBOT_SECRET_KEY", "orderbot-test-secret")  # the keyed hashes and encryption at rest
pytest_plugins = ["tests.stt.support"]
START = datetime(2026, 1, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _make_template(path: Path) -> None:
    app = await build_app(load_settings(database_url=_url(path)), clock=ManualClock(START))
    async with app.db.session() as s:
        for uid, name, dept, roles in DEMO_USERS:
            await upsert_user(s, app.roles, user_id=uid, name=name, roles=roles, department=dept, now=START)
    await Importer(app.db, app.clock, app.workflows, app.settings.tz).import_orders(fixed_orders())
    await app.close()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_make_template(path))
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "orderbot.db"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def app(db_path: Path, clock: ManualClock, tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(database_url=_url(db_path), data_dir=tmp_path / "var")
    a = await build_app(settings, clock=clock, migrate=False)
    yield a
    await a.close()


@pytest.fixture
def bot(app: App) -> ChatBot:
    from handlers import registry

    return ChatBot(app, Dispatcher(app, registry))


@pytest.fixture
def roles(app: App) -> RoleBook:
    return app.roles
