"""WeCom's send limits shared by every process (replicas on one database). A limit of N messages
per window W is at most N slot rows per recipient, each usable once per W: taking a message's slot
is a compare-and-set on the slot used longest ago, so no window ever holds more than N sends,
whatever number of processes take slots at once. Slots are created as they are needed (one row
per send until the window's N exist, not N rows at a recipient's first message): on PostgreSQL the
process adding one holds a transaction advisory lock on the recipient's family, tried without
waiting, so two processes never add the same slot and neither waits for the other."""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Index,
    Integer,
    String,
    TextualSelect,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base, UTCDateTime, table
from orders.job_lock import try_xact_lock

Window = tuple[timedelta, int]
NEVER = datetime(2000, 1, 1, tzinfo=UTC)
RETRY = timedelta(milliseconds=200)  # a slot another process took just now: look again soon


class RateSlot(Base):
    __tablename__ = "rate_slots"
    __table_args__ = (Index("ix_rate_slots_family_used", "family", "used_at"),)

    family: Mapped[str] = mapped_column(String(96), primary_key=True)  # "<window seconds>:<key>"
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    used_at: Mapped[datetime]


@dataclass(frozen=True)
class _Taken:
    family: str
    slot: int
    before: datetime | None  # None: the slot was added by this take


# Built once: executing a prebuilt statement skips building it and its cache key (per send, per window)
_F: BindParameter[str] = bindparam("f")
_S: BindParameter[int] = bindparam("s")
_OLDEST = (select(RateSlot.slot, RateSlot.used_at).where(RateSlot.family == _F)  # SKIP LOCKED: see _oldest
           .order_by(RateSlot.used_at, RateSlot.slot).limit(1).with_for_update(skip_locked=True))
_COUNT = select(func.count(), func.max(RateSlot.slot)).where(RateSlot.family == _F)
_ADD = insert(RateSlot)
_USE = (update(RateSlot).where(RateSlot.family == _F, RateSlot.slot == _S, RateSlot.used_at == bindparam("was"))
        .values(used_at=bindparam("at")))
_DROP = delete(RateSlot).where(RateSlot.family == _F, RateSlot.slot == _S)


def _family(key: str, span: timedelta) -> str:
    return f"{int(span.total_seconds())}:{key}"[:96]


async def _oldest(s: AsyncSession, family: str) -> tuple[int, datetime] | None:
    """The slot used longest ago, locked for this transaction; on PostgreSQL slots other
    transactions are taking are skipped (SKIP LOCKED), so concurrent senders take different slots."""
    row = (await s.execute(_OLDEST, {"f": family})).first()
    return None if row is None else (int(row[0]), row[1])


async def _add(s: AsyncSession, family: str, cap: int, now: datetime) -> _Taken | bool:
    """A new slot used now, when the family has fewer than ``cap``; False when it has them all,
    True when another transaction is adding one right now (PostgreSQL: try again soon)."""
    if not await try_xact_lock(s, f"rate:{family}"):
        return True
    n, top = (await s.execute(_COUNT, {"f": family})).one()
    if n >= cap:
        return False
    slot = -1 if top is None else int(top)
    await s.execute(_ADD, [{"family": family, "slot": slot + 1, "used_at": now}])
    return _Taken(family, slot + 1, None)


async def _take_one(s: AsyncSession, family: str, span: timedelta, cap: int, now: datetime) -> _Taken | datetime:
    """One slot of one window, or when to try again."""
    oldest = await _oldest(s, family)
    if oldest is not None and oldest[1] <= now - span:
        slot, used = oldest
        got = await s.execute(_USE, {"f": family, "s": slot, "was": used, "at": now})
        return _Taken(family, slot, used) if got.rowcount == 1 else now + RETRY  # type: ignore[attr-defined]
    added = await _add(s, family, cap, now)
    if isinstance(added, _Taken):
        return added
    if added or oldest is None:  # a peer is adding a slot, or is taking every one there is
        return now + RETRY
    return oldest[1] + span


async def _undo(s: AsyncSession, taken: list[_Taken], now: datetime) -> None:
    for t in reversed(taken):
        if t.before is None:
            await s.execute(_DROP, {"f": t.family, "s": t.slot})
        else:
            await s.execute(_USE, {"f": t.family, "s": t.slot, "was": now, "at": t.before})


async def take(s: AsyncSession, windows: Mapping[str, Sequence[Window]], now: datetime) -> datetime | None:
    """Take one slot of every window of every key (in the caller's transaction). None when all
    were taken; otherwise when to try again, and the slots this call took are given back (the
    caller's transaction goes on: it may take slots for other messages)."""
    taken: list[_Taken] = []
    for key, wins in windows.items():
        for span, cap in wins:
            got = await _take_one(s, _family(key, span), span, cap, now)
            if isinstance(got, datetime):
                await _undo(s, taken, now)
                return got
            taken.append(got)
    return None


@dataclass
class _Family:
    """What a batch needs of a family's slots, as read once: a heap of its oldest (used_at, slot)
    (as many as the batch could take), how many slots it has, and the highest slot number."""

    heap: list[tuple[datetime, int]] = field(default_factory=list)
    count: int = 0
    top: int = -1

    def reusable(self, span: timedelta, now: datetime) -> bool:
        """The slot used longest ago is free again (its window has passed)."""
        return bool(self.heap) and self.heap[0][0] <= now - span


_T = table(RateSlot)


@functools.cache
def _read_many(n: int, k: int) -> TextualSelect:
    """SQLite: for ``n`` families (``:f0`` …), each family's slot count, highest slot and its ``k``
    oldest slots (``s0``/``u0`` …, NULL past the last): each a lookup in an index, so a recipient
    with a thousand slots in the hour window costs what one with three does (reading every slot
    row, as before, cost ~1.5 ms per such recipient in a write turn)."""
    one = "FROM rate_slots WHERE family = f.column1"
    oldest = ", ".join(f"(SELECT slot {one} ORDER BY used_at, slot LIMIT 1 OFFSET {j}) AS s{j}, "
                       f"(SELECT used_at {one} ORDER BY used_at, slot LIMIT 1 OFFSET {j}) AS u{j}" for j in range(k))
    names = ", ".join(f"(:f{i})" for i in range(n))
    sql = (f"SELECT f.column1 AS family, (SELECT count(*) {one}) AS n, (SELECT max(slot) {one}) AS top, {oldest} "
           f"FROM (VALUES {names}) AS f")
    types: dict[str, Any] = {"family": String, "n": Integer, "top": Integer}
    types.update({f"s{j}": Integer for j in range(k)} | {f"u{j}": UTCDateTime for j in range(k)})
    return text(sql).columns(**types)


_SET = (update(_T).where(_T.c.family == bindparam("f_"), _T.c.slot == bindparam("s_"))  # Core: a plain executemany
        .values(used_at=bindparam("at")))


async def take_many(s: AsyncSession, wanted: Sequence[Mapping[str, Sequence[Window]]],
                    now: datetime) -> list[datetime | None]:
    """:func:`take` for several messages in order (one entry each: None when its slots were taken,
    else when to try again). On SQLite the caller's write transaction has the database to itself
    (a peer's write in between makes its own write fail, never double a slot), so one read of the
    families' slots decides them all and two executemany statements write them; on PostgreSQL it
    is :func:`take` per message (row locks and advisory locks between replicas)."""
    if s.get_bind().dialect.name != "sqlite":
        return [await take(s, w, now) for w in wanted]
    plans = [[(_family(key, span), span, cap) for key, wins in w.items() for span, cap in wins] for w in wanted]
    uses = Counter(f for plan in plans for f, _, _ in plan)
    names = sorted(uses)
    fams = {f: _Family() for f in names}
    conn = await s.connection()  # Core: these run in the write turn (orders.db)
    for i in range(0, len(names), 512):
        part = names[i:i + 512]
        n, k = 1 << (len(part) - 1).bit_length(), max(uses[f] for f in part)  # a few statement shapes, padded
        params = {f"f{j}": part[min(j, len(part) - 1)] for j in range(n)}
        for r in (await conn.execute(_read_many(n, k), params)).all():
            fam = fams[r.family]
            fam.count, fam.top = int(r.n), -1 if r.top is None else int(r.top)
            fam.heap = [(r[4 + 2 * j], int(r[3 + 2 * j])) for j in range(k) if r[3 + 2 * j] is not None]
    for fam in fams.values():
        heapq.heapify(fam.heap)
    reuse: dict[tuple[str, int], datetime] = {}
    added: list[dict[str, object]] = []
    out: list[datetime | None] = []
    for plan in plans:
        wait: datetime | None = None
        for f, span, cap in plan:  # a message takes one slot per family: look at all, then take
            fam = fams[f]
            if not fam.reusable(span, now) and fam.count >= cap:
                wait = fam.heap[0][0] + span if fam.heap else now + RETRY  # as take(): the first full window
                break
        out.append(wait)
        if wait is not None:
            continue
        for f, span, _ in plan:
            fam = fams[f]
            if fam.reusable(span, now):
                _, slot = heapq.heapreplace(fam.heap, (now, fam.heap[0][1]))
                reuse[(f, slot)] = now
            else:
                fam.top += 1
                fam.count += 1
                heapq.heappush(fam.heap, (now, fam.top))
                added.append({"family": f, "slot": fam.top, "used_at": now})
    if reuse:  # (a slot added above is used now: never old enough to be reused in the same batch)
        await conn.execute(_SET, [{"f_": f, "s_": slot, "at": at} for (f, slot), at in reuse.items()])
    if added:
        await conn.execute(_ADD, added)
    return out
