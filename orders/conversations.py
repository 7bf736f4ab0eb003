"""Pending multi-step exchanges (one per user), with an expiry from the injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orders.models import Conversation


async def begin(s: AsyncSession, user_id: str, kind: str, now: datetime, minutes: float, *,
                order_id: int | None = None, data: dict[str, Any] | None = None) -> Conversation:
    """Start (or replace) the user's pending exchange."""
    conv = await s.get(Conversation, user_id)
    if conv is None:
        conv = Conversation(user_id=user_id, kind=kind, order_id=order_id, data=data or {},
                            expires_at=now + timedelta(minutes=minutes))
        s.add(conv)
    else:
        conv.kind, conv.order_id, conv.data = kind, order_id, data or {}
        conv.expires_at = now + timedelta(minutes=minutes)
    return conv


async def pending(s: AsyncSession, user_id: str, kinds: tuple[str, ...], now: datetime) -> Conversation | None:
    """The user's open exchange of one of ``kinds``; an expired one is removed and not returned."""
    conv = await s.get(Conversation, user_id)
    if conv is None or conv.kind not in kinds:
        return None
    if conv.expires_at <= now:
        await s.delete(conv)
        return None
    return conv


async def end(s: AsyncSession, user_id: str) -> None:
    conv = await s.get(Conversation, user_id)
    if conv is not None:
        await s.delete(conv)
