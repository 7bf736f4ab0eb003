"""Shared fixtures. Big things are built once per session: a migrated template database (with
the demo users and a few fixed orders) is copied into a fresh file for each test.

``ORDERBOT_TEST_ENGINE=postgresql`` runs the database tests (those using the ``app`` fixture)
against a throwaway PostgreSQL cluster started for the run (``tests/pg.py``); tests that need no
database, or that need the SQLite file itself (``db_path``), run on SQLite only."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.dispatch import Dispatcher
from bot.testing import ChatBot
from config import load_settings
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.intake.importer import Importer
from orders.seed import DEMO_USERS, seed_demo
from orders.users import RoleBook, upsert_user
from tests.factories import fixed_orders
from tests.pg import Cluster

os.environ.setdefault("ORDERBOT_SECRET_KEY", "orderbot-test-secret")  # the keyed hashes and encryption at rest
pytest_plugins = ["tests.stt.support"]
START = datetime(2026, 1, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DEMO_NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai: the seeded demo's clock
T = TypeVar("T")
ENGINE = os.environ.get("ORDERBOT_TEST_ENGINE", "sqlite")
PG_TEMPLATE = "orderbot_template"
# scripts/test-engines.sh runs both halves at once (ORDERBOT_TEST_HALVES=1): these engine-neutral,
# slow files (real `serve` processes on a SQLite file) then run in the shorter PostgreSQL half
# instead, so the two end together; each test still runs exactly once.
MOVED_TO_PG_HALF = ("tests/wecom/test_crash_recovery.py", "tests/wecom/test_serve_workers.py")
HALVES = os.environ.get("ORDERBOT_TEST_HALVES") == "1"


def pytest_report_header() -> str:
    return f"orderbot test engine: {ENGINE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run only the tests that use the database through the app (the rest ran on SQLite),
    and those that need the cluster itself (``pg_cluster``: e.g. replicas), which run on PostgreSQL only."""
    keep, drop = [], []
    for item in items:
        names = getattr(item, "fixturenames", ())
        neutral = "app" not in names and "pg_cluster" not in names
        moved = HALVES and neutral and item.nodeid.startswith(MOVED_TO_PG_HALF)
        if ENGINE != "postgresql":
            (drop if "pg_cluster" in names or moved else keep).append(item)
        else:
            pg = ("app" in names and "db_path" not in names) or "pg_cluster" in names
            (keep if pg or moved else drop).append(item)
    if not drop:
        return
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _make_template(url: str) -> None:
    app = await build_app(load_settings(database_url=url), clock=ManualClock(START))
    async with app.db.session() as s:
        for uid, name, dept, roles in DEMO_USERS:
            await upsert_user(s, app.roles, user_id=uid, name=name, roles=roles, department=dept, now=START)
    await Importer(app.db, app.clock, app.workflows, app.settings.tz).import_orders(fixed_orders())
    await app.close()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    run_sync(_make_template(_url(path)))
    return path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the whole seeded demo (``demo.db`` and ``var``), built once per session; copy it."""
    root = tmp_path_factory.mktemp("demo")

    async def make() -> None:
        app = await build_app(load_settings(database_url=_url(root / "demo.db"), data_dir=root / "var"),
                              clock=ManualClock(DEMO_NOW))
        assert await seed_demo(app) is not None
        await app.close()

    run_sync(make())
    return root


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    import tempfile

    cluster = Cluster(Path(tempfile.mkdtemp(prefix="orderbot-pg-"))).start()  # not under pytest's 0700 tmp
    try:
        run_sync(cluster.create(PG_TEMPLATE))
        run_sync(_make_template(cluster.url(PG_TEMPLATE)))
        yield cluster
    finally:
        cluster.stop()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from sync code, even while an event loop runs in this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database with the template's contents: a SQLite file, or a PostgreSQL database
    (dropped after the test)."""
    if ENGINE != "postgresql":
        yield _url(request.getfixturevalue("db_path"))
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name, url = run_sync(cluster.clone(PG_TEMPLATE))
    yield url
    run_sync(cluster.drop(name))


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "orderbot.db"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def app(db_url: str, clock: ManualClock, tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(database_url=db_url, data_dir=tmp_path / "var")
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
