"""Writing outbox rows inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import OutboxMessage


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
    if dedupe_key is not None:
        found = await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
        if found is not None:
            return None
    row = OutboxMessage(
        channel=channel,
        target=target,
        msgtype=msgtype,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        dedupe_key=dedupe_key,
        order_id=order_id,
    )
    session.add(row)
    return row


async def enqueue_text(
    session: AsyncSession, to: Iterable[str] | str, text: str, now: datetime, **kw: Any
) -> OutboxMessage | None:
    """Shortcut for a plain text app message."""
    return await enqueue(session, to=to, msgtype="text", payload={"content": text}, now=now, **kw)
