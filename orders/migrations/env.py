"""Alembic environment: uses the connection handed in by orders.db, or ORDERBOT_DATABASE_URL."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import orders.due
import orders.inbox
import orders.outbox
import orders.processes
import orders.rate_slots
import orders.versions  # noqa: F401  (register tables)
from config.settings import load_settings
from orders.base import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _online() -> None:
    conn = context.config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return

    async def run() -> None:
        engine = create_async_engine(load_settings().database_url)
        async with engine.begin() as c:
            await c.run_sync(_run)
        await engine.dispose()

    asyncio.run(run())


if context.is_offline_mode():
    context.configure(url=load_settings().database_url, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    _online()
