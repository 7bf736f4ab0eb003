"""Per-user command counts: one upsert per command run; the greeting reads the top three."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Executable, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders import deferred
from orders.db import Database, dialect_insert
from orders.models import CommandUsage


def _upsert(s: AsyncSession) -> Executable:
    ins = dialect_insert(s, CommandUsage)
    return ins.on_conflict_do_update(index_elements=["user_id", "command"],
                                     set_={"count": CommandUsage.count + 1, "last_at": ins.excluded.last_at})


async def count_command(db: Database, user_id: str, command: str, now: datetime) -> None:
    """Count one run (written with the message's reply when there is one: orders.deferred)."""
    await deferred.write(db, deferred.Rows(_upsert, {"user_id": user_id, "command": command, "count": 1,
                                                     "last_at": now}))


async def top_commands(s: AsyncSession, user_id: str, n: int = 3) -> list[str]:
    rows = await s.scalars(select(CommandUsage.command).where(CommandUsage.user_id == user_id)
                           .order_by(CommandUsage.count.desc(), CommandUsage.last_at.desc()).limit(n))
    return list(rows)
