"""The outbox: every message the system sends is a row here first, written by ``enqueue`` inside
the caller's transaction (the transactional outbox). Delivery lives in ``notifications``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base, table
from orders.crypto import EncryptedJSON
from orders.db import dialect_insert

# status: pending -> sending (only while its request is in flight: claimed by one process, with a
# short lease) -> sent | dead (or back to pending to retry). 'dead' is only ever a row WeCom refused
# (or gave up on): never one that may have been delivered.
OUTBOX_STATUSES = ("pending", "sending", "dead", "sent")


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "app": a WeCom app message to users; "webhook": a group robot (target = robot key/name)
    channel: Mapped[str] = mapped_column(String(16), default="app")
    target: Mapped[str] = mapped_column(String(1024))  # "u1|u2" for app, robot name for webhook
    msgtype: Mapped[str] = mapped_column(String(32))  # text, markdown, image, template_card, update_card
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)  # encrypted; scrubbed once sent
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Optional idempotency key: a second enqueue with the same key is skipped.
    dedupe_key: Mapped[str | None] = mapped_column(String(191), unique=True)
    order_id: Mapped[int | None] = mapped_column(Integer)
    # the process whose request is in flight while 'sending' (orders.processes), and WeCom's msgid once sent
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    msgid: Mapped[str] = mapped_column(String(128), default="", server_default="")


OUTBOX = table(OutboxMessage)
# The delivery's bookkeeping (notifications.worker), built once and run on the session's
# connection (Core): it runs in the write turn every process waits for (orders.db), where an ORM
# statement built each time cost several times the SQL's own time.
_CLAIM = (update(OUTBOX).where(OUTBOX.c.id.in_(  # SKIP LOCKED: rows a peer is claiming are its (PostgreSQL)
    select(OUTBOX.c.id).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)), OUTBOX.c.status == "pending",
                              OUTBOX.c.next_attempt_at <= bindparam("now"))
    .with_for_update(skip_locked=True).scalar_subquery()))
    .values(status="sending", claimed_by=bindparam("by"), next_attempt_at=bindparam("until"))
    .returning(OUTBOX.c.id))
_BACK = (update(OUTBOX).where(OUTBOX.c.id == bindparam("id_"))
         .values(status="pending", claimed_by=None, next_attempt_at=bindparam("at")))
_WHOLE = select(OutboxMessage).where(OutboxMessage.id.in_(bindparam("ids", expanding=True)))
_MARK_COLS = ("status", "sent_at", "attempts", "last_error", "msgid", "claimed_by", "payload")
_MARK = update(OUTBOX).where(OUTBOX.c.id == bindparam("id_")).values({c: bindparam(c) for c in _MARK_COLS})


async def claim(session: AsyncSession, ids: list[int], now: datetime, by: str, until: datetime) -> set[int]:
    """pending (and due) -> sending for ``by`` until ``until``; the ids this call got."""
    res = await (await session.connection()).execute(_CLAIM, {"ids": ids, "now": now, "by": by, "until": until})
    return set(res.scalars().all())


async def give_back(session: AsyncSession, rows: list[tuple[int, datetime]]) -> None:
    """Claimed rows back to pending as they were: (id, its next attempt time) each; one executemany."""
    if rows:
        await (await session.connection()).execute(_BACK, [{"id_": i, "at": at} for i, at in rows])


async def whole(session: AsyncSession, ids: list[int]) -> dict[int, OutboxMessage]:
    """The rows ``ids`` in full (payloads decrypted), by id."""
    if not ids:
        return {}
    return {r.id: r for r in (await session.scalars(_WHOLE, {"ids": ids})).all()}


async def mark_many(session: AsyncSession, marks: list[dict[str, Any]]) -> None:
    """For each mark: UPDATE outbox SET the mark's status, sent_at, attempts, last_error, msgid,
    claimed_by and payload WHERE id = its "id"; one executemany."""
    if marks:
        await (await session.connection()).execute(
            _MARK, [{"id_": m["id"], **{c: m[c] for c in _MARK_COLS}} for m in marks])


KEEP_AFTER_SENT = ("response_code",)  # what a sent row keeps of its payload (card updates need it)


def scrubbed(payload: dict[str, Any]) -> dict[str, Any]:
    """A delivered row's payload: the message itself is not kept."""
    return {k: v for k, v in payload.items() if k in KEEP_AFTER_SENT}


def outbox_values(*, to: Iterable[str] | str, msgtype: str, payload: dict[str, Any], now: datetime,
                  channel: str = "app", dedupe_key: str | None = None,
                  order_id: int | None = None) -> dict[str, Any] | None:
    """A new row's columns (None without a recipient), e.g. for inserting many at once."""
    target = to if isinstance(to, str) else "|".join(sorted(set(to)))
    if not target:
        return None
    return dict(channel=channel, target=target, msgtype=msgtype, payload=payload, status="pending", attempts=0,
                next_attempt_at=now, created_at=now, dedupe_key=dedupe_key, order_id=order_id, last_error="",
                msgid="")


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
    values = outbox_values(to=to, msgtype=msgtype, payload=payload, now=now, channel=channel, dedupe_key=dedupe_key,
                           order_id=order_id)
    if values is None:
        return None
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
