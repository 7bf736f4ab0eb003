"""Writing outbox rows inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import OutboxMessage
from orders.db import dialect_insert


async def enqueue(
    session: AsyncSession,
    *,
    to: Iterable[str] | str,
    msgtype: str,
    payload: dict[str, Any],
    now: datetime,
    channel: str = "app",
    dedupe_key: str | None = None,
    order_id: int | None = None,
) -> OutboxMessage | None:
    """Add one outgoing message to the session; None when ``dedupe_key`` was already used."""
    target = to if isinstance(to, str) else "|".join(sorted(set(to)))
    if not target:
        return None
    values = dict(channel=channel, target=target, msgtype=msgtype, payload=payload, status="pending", attempts=0,
                  next_attempt_at=now, created_at=now, dedupe_key=dedupe_key, order_id=order_id)
    if dedupe_key is None:
        row = OutboxMessage(**values)
        session.add(row)
        return row
    # one statement, so two processes racing on the same key cannot fail each other's transaction
    new_id = await session.scalar(dialect_insert(session, OutboxMessage).values(**values)
                                  .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage.id))
    return None if new_id is None else await session.get(OutboxMessage, new_id)


async def enqueue_text(
    session: AsyncSession, to: Iterable[str] | str, text: str, now: datetime, **kw: Any
) -> OutboxMessage | None:
    """Shortcut for a plain text app message."""
    return await enqueue(session, to=to, msgtype="text", payload={"content": text}, now=now, **kw)
