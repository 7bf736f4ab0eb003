"""The inbox table: every verified callback is stored before WeCom gets its 200, so a crash
after the answer loses nothing; the unique dedupe key makes WeCom's retries harmless."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Index, Integer, String, Text, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base
from orders.crypto import EncryptedText
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
    xml: Mapped[str] = mapped_column(EncryptedText)  # the message, encrypted at rest; "" once done
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # orders.processes identity of the claimer
    processed_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")


def _claimable(now: datetime, lease: timedelta, gone: Collection[str]) -> ColumnElement[bool]:
    """Pending rows, and claims whose process is gone (orders.processes) or whose lease ran out."""
    stale = InboxMessage.claimed_at <= now - lease
    if gone:
        stale = or_(stale, InboxMessage.claimed_by.in_(list(gone)))
    return or_(InboxMessage.status == "pending", (InboxMessage.status == "processing") & stale)


async def unfinished(session: AsyncSession, now: datetime, lease: timedelta,
                     gone: Collection[str] = ()) -> list[int]:
    """Ids of rows to (re)process: pending ones and claims that are free again, in arrival order."""
    return list((await session.scalars(
        select(InboxMessage.id).where(_claimable(now, lease, gone)).order_by(InboxMessage.id))).all())


async def finish(session: AsyncSession, row_id: int, now: datetime, *, error: str = "") -> bool:
    """Mark a claimed row done (or failed with ``error``); False if someone else finished it."""
    res = await session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == row_id, InboxMessage.status == "processing")
        .values(status="failed" if error else "done", processed_at=now, error=error[:2000],
                **({} if error else {"xml": ""}))  # a failed row keeps its message for a person
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


async def claim_many(session: AsyncSession, ids: list[int], now: datetime, lease: timedelta, *,
                     by: str | None = None, gone: Collection[str] = ()) -> list[InboxMessage]:
    """Claim several rows at once for process ``by``; the rows this call got, in id order.

    A user's rows are only claimed in order: that user's earlier free rows are claimed with them,
    and rows of a user whose earlier message is held elsewhere (a live claim of another process,
    or a row another transaction is claiming right now) are left alone, so one user's messages are
    handled in arrival order across restarts and processes. On PostgreSQL the rows are taken with
    ``FOR UPDATE SKIP LOCKED``: concurrent claimers never wait for each other (SQLite has one writer)."""
    if not ids:
        return []
    users = set((await session.scalars(select(InboxMessage.user_id).where(InboxMessage.id.in_(ids)))).all())
    top = max(ids)
    free = (select(InboxMessage.id)
            .where(InboxMessage.user_id.in_(users), InboxMessage.id <= top, _claimable(now, lease, gone))
            .with_for_update(skip_locked=True))
    res = (await session.execute(
        update(InboxMessage)
        .where(InboxMessage.id.in_(free.scalar_subquery()))
        .values(status="processing", claimed_at=now, claimed_by=by, attempts=InboxMessage.attempts + 1)
        .returning(InboxMessage.id, InboxMessage.user_id)
        .execution_options(synchronize_session=False))).all()
    got: list[tuple[int, str]] = [(i, u) for i, u in res]
    if not got:
        return []
    # An earlier unfinished row of the user that this call did not get (a peer's live claim, or
    # skipped because another transaction holds it): this user's later rows go back for later.
    mine = [i for i, _ in got]
    held = dict((await session.execute(
        select(InboxMessage.user_id, func.min(InboxMessage.id))
        .where(InboxMessage.user_id.in_({u for _, u in got}), InboxMessage.id <= top,
               InboxMessage.id.not_in(mine), InboxMessage.status.in_(("pending", "processing")),
               or_(InboxMessage.status == "pending", InboxMessage.claimed_by.is_distinct_from(by)))
        .group_by(InboxMessage.user_id))).all())
    back = [i for i, u in got if u in held and i > held[u]]
    if back:
        await session.execute(update(InboxMessage).where(InboxMessage.id.in_(back))
                              .values(status="pending", claimed_at=None, claimed_by=None,
                                      attempts=InboxMessage.attempts - 1)
                              .execution_options(synchronize_session=False))
        got = [(i, u) for i, u in got if i not in set(back)]
    if not got:
        return []
    rows = (await session.scalars(select(InboxMessage).where(InboxMessage.id.in_([i for i, _ in got]))
                                  .order_by(InboxMessage.id).execution_options(populate_existing=True))).all()
    return list(rows)


async def waiting(session: AsyncSession, users: Collection[str]) -> list[int]:
    """Pending rows of ``users`` (e.g. given back while a peer held an earlier message of theirs),
    in arrival order: the process that finished that earlier message takes them next."""
    if not users:
        return []
    return list((await session.scalars(
        select(InboxMessage.id).where(InboxMessage.user_id.in_(list(users)), InboxMessage.status == "pending")
        .order_by(InboxMessage.id))).all())


async def finish_many(session: AsyncSession, ids: list[int], now: datetime) -> set[int]:
    """Mark claimed rows done; the ids this call finished (others were finished elsewhere)."""
    if not ids:
        return set()
    res = await session.scalars(
        update(InboxMessage)
        .where(InboxMessage.id.in_(ids), InboxMessage.status == "processing")
        .values(status="done", processed_at=now, xml="")  # the raw message is not kept once handled
        .returning(InboxMessage.id))
    return set(res.all())
