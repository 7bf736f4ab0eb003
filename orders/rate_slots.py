"""WeCom's send limits shared by every process (replicas on one database). A limit of N messages
per window W is N slot rows per recipient, each usable once per W: taking a message's slot is a
compare-and-set on the slot used longest ago, so no window ever holds more than N sends, whatever
number of processes take slots at once. Slots are created on a recipient's first message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Index, Integer, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base
from orders.db import dialect_insert

Window = tuple[timedelta, int]
NEVER = datetime(2000, 1, 1, tzinfo=UTC)
RETRY = timedelta(milliseconds=200)  # a slot another process took just now: look again soon


class RateSlot(Base):
    __tablename__ = "rate_slots"
    __table_args__ = (Index("ix_rate_slots_family_used", "family", "used_at"),)

    family: Mapped[str] = mapped_column(String(96), primary_key=True)  # "<window seconds>:<key>"
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    used_at: Mapped[datetime]


async def _oldest(s: AsyncSession, family: str) -> tuple[int, datetime] | None:
    """The slot used longest ago, locked for this transaction; on PostgreSQL slots other
    transactions are taking are skipped (SKIP LOCKED), so concurrent senders take different slots."""
    row = (await s.execute(select(RateSlot.slot, RateSlot.used_at).where(RateSlot.family == family)
                           .order_by(RateSlot.used_at, RateSlot.slot).limit(1)
                           .with_for_update(skip_locked=True))).first()
    return None if row is None else (int(row[0]), row[1])


async def take(s: AsyncSession, windows: Mapping[str, Sequence[Window]], now: datetime) -> datetime | None:
    """Take one slot of every window of every key (in the caller's transaction). None when all
    were taken; otherwise when to try again, and the caller must roll back what was taken."""
    for key, wins in windows.items():
        for span, cap in wins:
            family = f"{int(span.total_seconds())}:{key}"[:96]
            oldest = await _oldest(s, family)
            if oldest is None:
                if await s.scalar(select(RateSlot.slot).where(RateSlot.family == family).limit(1)) is not None:
                    return now + RETRY  # every slot is being taken by other transactions right now
                # one cached statement, executemany: a literal multi-row VALUES of 1,000 slots took ~0.2 s to compile
                await s.execute(dialect_insert(s, RateSlot).on_conflict_do_nothing(),
                                [{"family": family, "slot": i, "used_at": NEVER} for i in range(cap)])
                oldest = await _oldest(s, family)
                if oldest is None:
                    return now + RETRY
            slot, used = oldest
            if used > now - span:
                return used + span
            got = await s.execute(update(RateSlot).where(RateSlot.family == family, RateSlot.slot == slot,
                                                         RateSlot.used_at == used).values(used_at=now))
            if got.rowcount != 1:  # type: ignore[attr-defined]
                return now + RETRY
    return None
