"""What every ``orderbot`` sub-command shares: the Typer app, stderr console, and ``run`` (build
the App, run a body, close it)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from bot.dispatch import Dispatcher
from bot.logs import setup_logging
from config import load_settings
from orders.app import App, build_app
from orders.config_check import ConfigError
from orders.errors import DomainError

T = TypeVar("T")
cli = typer.Typer(help="orderbot: the WeCom chat-ops bot of an e-commerce order hub.", no_args_is_help=True,
                  add_completion=False)
users_cli = typer.Typer(help="Manage users and roles.", no_args_is_help=True)
workflow_cli = typer.Typer(help="Inspect the order workflow.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(workflow_cli, name="workflow")
err = Console(stderr=True)


def run(body: Callable[[App], Awaitable[T]], *, quiet: bool = False) -> T:
    """Build the app, run ``body`` with it, close it. ``quiet``: only warnings on stderr unless
    ORDERBOT_LOG_LEVEL asks for more (the chat console's replies stay readable)."""
    settings = load_settings()
    explicit = "ORDERBOT_LOG_LEVEL" in os.environ or "orderbot_log_level" in os.environ
    setup_logging("WARNING" if quiet and not explicit else settings.log_level)

    async def main() -> T:
        app = await build_app(settings)
        try:
            return await body(app)
        finally:
            await app.close()

    try:
        return asyncio.run(main())
    except (DomainError, ConfigError) as e:
        err.print(str(e), markup=False)
        raise typer.Exit(2) from None


def dispatcher(app: App) -> Dispatcher:
    from handlers import registry

    return Dispatcher(app, registry)
