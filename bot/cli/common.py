"""What every ``orderbot`` sub-command shares: the Typer app, stderr console, and ``run`` (build
the App, run a body, close it)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy import select

from bot.dispatch import Dispatcher
from bot.logs import setup_logging
from config import Settings, load_settings
from orders.app import App, build_app
from orders.config_check import ConfigError
from orders.errors import DomainError
from orders.models import Order

T = TypeVar("T")
cli = typer.Typer(help="orderbot: the WeCom chat-ops bot of an e-commerce order hub.", no_args_is_help=True,
                  add_completion=False)
users_cli = typer.Typer(help="Manage users and roles.", no_args_is_help=True)
workflow_cli = typer.Typer(help="Inspect the order workflow.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(workflow_cli, name="workflow")
err = Console(stderr=True)


SEED_HINT = ("Seed the demo data with `make demo` (or `orderbot seed-demo`), or import orders with "
             "`orderbot import FILE`.")


def where(settings: Settings) -> str:
    """The database a command uses, for messages (the file, or the URL without its password)."""
    path = settings.sqlite_file
    return str(path) if path is not None else settings.database_url.split("@")[-1]


def run(body: Callable[[App], Awaitable[T]], *, quiet: bool = False, needs: str = "") -> T:
    """Build the app, run ``body`` with it, close it. ``quiet``: only warnings on stderr unless
    ORDERBOT_LOG_LEVEL asks for more (the chat console's replies stay readable). ``needs``:
    "db" refuses (exit 2, with how to seed) when the SQLite file does not exist instead of
    creating an empty one; "orders" also when the database has no orders."""
    settings = load_settings()
    explicit = "ORDERBOT_LOG_LEVEL" in os.environ or "orderbot_log_level" in os.environ
    setup_logging("WARNING" if quiet and not explicit else settings.log_level)
    path = settings.sqlite_file
    if path is not None and not path.exists():
        if needs:
            err.print(f"no database at {path} (ORDERBOT_DATABASE_URL). {SEED_HINT}", markup=False, soft_wrap=True)
            raise typer.Exit(2)
        path.parent.mkdir(parents=True, exist_ok=True)

    async def main() -> T:
        app = await build_app(settings)
        try:
            if needs == "orders" and not await has_orders(app):
                err.print(f"the database {where(settings)} has no orders. {SEED_HINT}", markup=False,
                          soft_wrap=True)
                raise typer.Exit(2)
            return await body(app)
        finally:
            await app.close()

    try:
        return asyncio.run(main())
    except (DomainError, ConfigError) as e:
        err.print(str(e), markup=False)
        raise typer.Exit(2) from None


async def has_orders(app: App) -> bool:
    async with app.db.session() as s:
        return await s.scalar(select(Order.id).limit(1)) is not None


def dispatcher(app: App) -> Dispatcher:
    from handlers import registry

    return Dispatcher(app, registry)
