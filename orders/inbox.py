"""The inbox table: every verified callback is stored before WeCom gets its 200, so a crash
after the answer loses nothing; the unique dedupe key makes WeCom's retries harmless."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Index, Integer, String, Text, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base
from orders.db import dialect_insert

# status: pending -> processing -> done | failed


class InboxMessage(Base):
    __tablename__ = "wecom_inbox"
    __table_args__ = (Index("ix_wecom_inbox_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(191), unique=True)
    msg_id: Mapped[str] = mapped_column(String(64), default="")
    user_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))  # msgtype, or event:<name>
    xml: Mapped[str] = mapped_column(Text)  # the decrypted message
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")


async def unfinished(session: AsyncSession, now: datetime, lease: timedelta) -> list[int]:
    """Ids of rows to (re)process: pending ones and claims older than the lease."""
    return list((await session.scalars(
        select(InboxMessage.id)
        .where(or_(InboxMessage.status == "pending",
                   (InboxMessage.status == "processing") & (InboxMessage.claimed_at <= now - lease)))
        .order_by(InboxMessage.id)
    )).all())


async def finish(session: AsyncSession, row_id: int, now: datetime, *, error: str = "") -> bool:
    """Mark a claimed row done (or failed with ``error``); False if someone else finished it."""
    res = await session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == row_id, InboxMessage.status == "processing")
        .values(status="failed" if error else "done", processed_at=now, error=error[:2000])
        .returning(InboxMessage.id)
    )
    return res.scalar_one_or_none() is not None


async def store_many(session: AsyncSession, rows: list[dict[str, object]]) -> dict[str, int]:
    """Insert several messages in one statement; {dedupe_key: id} of those that were new."""
    if not rows:
        return {}
    ins = dialect_insert(session, InboxMessage)
    values = [{"status": "pending", "attempts": 0, "error": "", **r} for r in rows]
    # One cached statement run with many parameter sets (SQLAlchemy's insertmanyvalues batches
    # it): a literal multi-row VALUES would be compiled afresh for every batch size.
    stmt = (ins.on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(InboxMessage.dedupe_key, InboxMessage.id))
    return {k: i for k, i in (await session.execute(stmt, values)).all()}


async def claim_many(session: AsyncSession, ids: list[int], now: datetime, lease: timedelta) -> list[InboxMessage]:
    """Claim several rows at once (see :func:`claim`); the rows this call got, in id order."""
    got = (await session.scalars(
        update(InboxMessage)
        .where(InboxMessage.id.in_(ids),
               or_(InboxMessage.status == "pending",
                   (InboxMessage.status == "processing") & (InboxMessage.claimed_at <= now - lease)))
        .values(status="processing", claimed_at=now, attempts=InboxMessage.attempts + 1)
        .returning(InboxMessage.id))).all()
    if not got:
        return []
    rows = (await session.scalars(select(InboxMessage).where(InboxMessage.id.in_(list(got)))
                                  .order_by(InboxMessage.id).execution_options(populate_existing=True))).all()
    return list(rows)


async def finish_many(session: AsyncSession, ids: list[int], now: datetime) -> set[int]:
    """Mark claimed rows done; the ids this call finished (others were finished elsewhere)."""
    if not ids:
        return set()
    res = await session.scalars(
        update(InboxMessage)
        .where(InboxMessage.id.in_(ids), InboxMessage.status == "processing")
        .values(status="done", processed_at=now)
        .returning(InboxMessage.id))
    return set(res.all())
