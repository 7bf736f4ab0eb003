"""The application object: settings, database, clock, config and services, built once and
passed explicitly (no global singletons). Later parts hang their services on typed keys."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from config import ConfigDir, Settings
from orders.clock import Clock, SystemClock
from orders.config_check import check_config
from orders.db import Database
from orders.reports.facts import install_upkeep
from orders.service import OrderService
from orders.users import RoleBook, sync_users
from orders.warehouse import duty
from orders.warehouse.config import WarehouseConfig
from orders.warehouse.hooks import install_auto_assign
from orders.workflow import WorkflowDef, WorkflowRegistry

log = logging.getLogger(__name__)
T = TypeVar("T")


class AppKey(Generic[T]):
    """A typed key for a service stored on the App (the idea of aiohttp's ``web.AppKey``)."""

    def __init__(self, name: str, t: type[T]) -> None:
        self.name = name
        self.t = t

    def __repr__(self) -> str:
        return f"AppKey({self.name})"


WAREHOUSE: AppKey[WarehouseConfig] = AppKey("warehouse_config", WarehouseConfig)


@dataclass
class App:
    settings: Settings
    config: ConfigDir
    db: Database
    clock: Clock
    roles: RoleBook
    workflows: WorkflowRegistry
    orders: OrderService
    _services: dict[AppKey[Any], Any] = field(default_factory=dict)

    def __getitem__(self, key: AppKey[T]) -> T:
        return cast(T, self._services[key])

    def __setitem__(self, key: AppKey[T], value: T) -> None:
        self._services[key] = value

    def get(self, key: AppKey[T]) -> T | None:
        return cast("T | None", self._services.get(key))

    def cached(self, key: AppKey[T], make: Callable[[], T]) -> T:
        """The service under ``key``, made by ``make`` on first use (config read once per app)."""
        if key not in self._services:
            self._services[key] = make()
        return cast(T, self._services[key])

    async def close(self) -> None:
        await self.db.dispose()


async def build_app(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> App:
    """Open the database (migrating it), load config and sync YAML users."""
    cfg = ConfigDir(settings.config_dir)
    install_upkeep()  # parcel facts recomputed in the transaction that changes their inputs
    db = Database(settings.database_url)
    clock = clock or SystemClock()
    roles = RoleBook.from_dict(cfg.load("roles"))
    workflows = WorkflowRegistry(WorkflowDef.from_dict(cfg.load("workflow")))
    try:
        async with db.startup():  # replicas starting together on a new database: one at a time
            if migrate:
                await db.migrate()
            async with db.session() as s:  # config naming a robot, role or state that does not exist: ConfigError
                check_config(cfg, roles, (await workflows.current(s)).definition)
            async with db.session() as s:
                added = await sync_users(s, roles, cfg.load("users"), clock.now())
            if added:
                log.info("added %d users from users.yaml", added)
            app = App(settings=settings, config=cfg, db=db, clock=clock, roles=roles, workflows=workflows,
                      orders=OrderService(db, clock, workflows, roles, board=settings))
            wh = app.cached(WAREHOUSE, lambda: WarehouseConfig.from_dict(cfg.load("warehouse")))
            install_auto_assign(app.orders, wh, settings.tz)
            async with db.session() as s:
                await duty.seed(s, wh.on_duty, clock.now())
    except BaseException:
        await db.dispose()
        raise
    return app
