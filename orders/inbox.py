"""The inbox table: every verified callback is stored before WeCom gets its 200, so a crash
after the answer loses nothing; the unique dedupe key makes WeCom's retries harmless."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Executable,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base, table
from orders.crypto import EncryptedText
from orders.db import built_once, dialect_insert

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


T = table(InboxMessage)


def _ids(name: str = "ids") -> ColumnElement[object]:
    return bindparam(name, expanding=True)


def _free(gone: bool) -> ColumnElement[bool]:
    """Pending rows, and claims whose lease ran out (claimed at or before ``:stale``) or, with
    ``gone``, whose process is one of ``:gone`` (orders.processes)."""
    stale = T.c.claimed_at <= bindparam("stale")
    if gone:
        stale = or_(stale, T.c.claimed_by.in_(_ids("gone")))
    return or_(T.c.status == "pending", (T.c.status == "processing") & stale)


# The claim's and the finish's statements, built once: each is compiled once and run with new
# values, on the session's connection (Core). Building an ORM statement each time cost ~5x the
# SQL's own time, and these run in the write turn every process waits for (orders.db).
_UNFINISHED = {gone: select(T.c.id).where(_free(gone)).order_by(T.c.id) for gone in (False, True)}
_USERS_OF = select(T.c.user_id).where(T.c.id.in_(_ids()))
_CLAIM = {gone: update(T).where(T.c.id.in_(
    select(T.c.id).where(T.c.user_id.in_(_ids("users")), T.c.id <= bindparam("top"), _free(gone))
    .with_for_update(skip_locked=True).scalar_subquery()))
    .values(status="processing", claimed_at=bindparam("now"), claimed_by=bindparam("by"),
            attempts=T.c.attempts + 1)
    .returning(T.c.id, T.c.user_id) for gone in (False, True)}
_HELD = (select(T.c.user_id, func.min(T.c.id))
         .where(T.c.user_id.in_(_ids("users")), T.c.id <= bindparam("top"), T.c.id.not_in(_ids()),
                T.c.status.in_(("pending", "processing")),
                or_(T.c.status == "pending", T.c.claimed_by.is_distinct_from(bindparam("by"))))
         .group_by(T.c.user_id))
_GIVE_BACK = (update(T).where(T.c.id.in_(_ids()))
              .values(status="pending", claimed_at=None, claimed_by=None, attempts=T.c.attempts - 1))
_WAITING = select(T.c.id).where(T.c.user_id.in_(_ids("users")), T.c.status == "pending").order_by(T.c.id)
_ROWS = (select(InboxMessage).where(InboxMessage.id.in_(_ids())).order_by(InboxMessage.id)
         .execution_options(populate_existing=True))
_FINISH = (update(T).where(T.c.id.in_(_ids()), T.c.status == "processing")
           .values(status="done", processed_at=bindparam("now"), xml="").returning(T.c.id))


async def unfinished(session: AsyncSession, now: datetime, lease: timedelta,
                     gone: Collection[str] = ()) -> list[int]:
    """Ids of rows to (re)process: pending ones and claims that are free again, in arrival order."""
    res = await (await session.connection()).execute(_UNFINISHED[bool(gone)],
                                                     {"stale": now - lease, "gone": list(gone)})
    return list(res.scalars().all())


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


def _store(session: AsyncSession) -> Executable:
    return dialect_insert(session, T).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(
        T.c.dedupe_key, T.c.id)


async def store_many(session: AsyncSession, rows: list[dict[str, object]]) -> dict[str, int]:
    """Insert several messages in one statement (run with many parameter sets: insertmanyvalues);
    {dedupe_key: id} of those that were new."""
    if not rows:
        return {}
    values = [{"status": "pending", "attempts": 0, "error": "", **r} for r in rows]
    res = await (await session.connection()).execute(built_once(session, _store), values)
    return {k: i for k, i in res.all()}


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
    conn = await session.connection()
    users = set((await conn.execute(_USERS_OF, {"ids": ids})).scalars().all())
    top = max(ids)
    res = (await conn.execute(_CLAIM[bool(gone)], {"users": list(users), "top": top, "stale": now - lease,
                                                  "gone": list(gone), "now": now, "by": by})).all()
    got: list[tuple[int, str]] = [(i, u) for i, u in res]
    if not got:
        return []
    # An earlier unfinished row of the user that this call did not get (a peer's live claim, or
    # skipped because another transaction holds it): this user's later rows go back for later.
    mine = [i for i, _ in got]
    held = dict((await conn.execute(_HELD, {"users": list({u for _, u in got}), "top": top, "ids": mine,
                                            "by": by})).all())
    back = [i for i, u in got if u in held and i > held[u]]
    if back:
        await conn.execute(_GIVE_BACK, {"ids": back})
        got = [(i, u) for i, u in got if i not in set(back)]
    if not got:
        return []
    return list((await session.scalars(_ROWS, {"ids": [i for i, _ in got]})).all())


async def waiting(session: AsyncSession, users: Collection[str]) -> list[int]:
    """Pending rows of ``users`` (e.g. given back while a peer held an earlier message of theirs),
    in arrival order: the process that finished that earlier message takes them next."""
    if not users:
        return []
    return list((await (await session.connection()).execute(_WAITING, {"users": list(users)})).scalars().all())


async def finish_many(session: AsyncSession, ids: list[int], now: datetime) -> set[int]:
    """Mark claimed rows done; the ids this call finished (others were finished elsewhere)."""
    if not ids:
        return set()
    # the raw message is not kept once handled (xml "")
    return set((await (await session.connection()).execute(_FINISH, {"ids": ids, "now": now})).scalars().all())
