"""Finding an order the way a person describes it: hub number (or a suffix of 4+), platform
order id (or a suffix, also "尾号1234"), the buyer's mobile (full: by hash; last 4; the masked
form 185****3681), the buyer's name or nickname (exact, by hash), a tracking number (or a suffix
of 6+). Every key is an indexed column; several matches are listed newest first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orders.errors import AmbiguousOrder, Candidate, InvalidInput, OrderNotFound
from orders.models import Order, Tracking
from orders.privacy import hash_phone, hash_text, mask_name, normalize_phone

MIN_SUFFIX = 4
MIN_TRACKING_SUFFIX = 6
MAX_LISTED = 10
MAX_QUERY = 40
MAX_COUNTED = 10_000
TAIL = ("尾号", "后四位", "末四位")
_KEYLIKE = re.compile(r"^[A-Z0-9-]+$")
_PHONE = re.compile(r"^(?:\+?86)?1\d{10}$")
_MASKED = re.compile(r"^(1\d{2})\*{2,6}(\d{4})$")
USAGE = "请提供订单号，例如：查 BG260122-8812 或 查 8812（也可用平台单号、手机号或尾号、买家姓名、运单号）"


@dataclass(frozen=True)
class Query:
    text: str  # upper-cased, without '#', '尾号' and inner spaces of a number
    tail: bool  # said as 尾号…: only suffixes


def parse_query(query: str) -> Query:
    q = (query or "").strip().lstrip("#").strip()
    tail = False
    for t in TAIL:
        if q.startswith(t):
            q, tail = q[len(t):].strip(" :"), True
    if re.fullmatch(r"\+?[\d -]+", q) and _PHONE.match(normalize_phone(q)):
        q = normalize_phone(q)  # a mobile typed as 185 1234 3681 or +86 185…
    q = q.upper()
    if not q:
        raise InvalidInput(USAGE)
    if len(q) > MAX_QUERY:
        raise InvalidInput(f"订单号太长（最多{MAX_QUERY}个字符）。")
    return Query(q, tail)


def clean_query(query: str) -> str:
    return parse_query(query).text


def _next_prefix(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _starts(col: Any, prefix: str) -> ColumnElement[bool]:
    """An index range scan: col >= prefix AND col < prefix-with-last-char-bumped."""
    return (col >= prefix) & (col < _next_prefix(prefix))


Cond = tuple[ColumnElement[bool], bool]  # (condition, needs the tracking_numbers join)


def _conditions(q: Query) -> tuple[list[Cond], list[Cond]]:
    """(exact conditions, suffix conditions) for this query."""
    t = q.text
    exact: list[Cond] = []
    suffix: list[Cond] = []
    masked = _MASKED.match(t)
    if masked:
        exact.append(((Order.phone_last4 == masked.group(2)) & Order.phone_masked.startswith(masked.group(1)), False))
        return exact, suffix
    keylike = bool(_KEYLIKE.match(t))
    if keylike and not q.tail:
        exact.append((Order.channel_order_id == t, False))
        if len(t) >= MIN_TRACKING_SUFFIX:
            exact.append((Tracking.number == t, True))
        if _PHONE.match(t):
            exact.append((Order.phone_hash == hash_phone(t), False))
    if not q.tail and not t.replace("-", "").isdigit():
        # a name or a nickname (nicknames may look like ids: tb_hu2023, hu2023; never all digits)
        name, nick = hash_text("name", t), hash_text("nick", t)
        if name:
            exact += [(Order.name_hash == name, False), (Order.nick_hash == nick, False)]
    if keylike and len(t) >= MIN_SUFFIX:
        rev = t[::-1]
        suffix += [(_starts(Order.order_no_rev, rev), False), (_starts(Order.channel_order_id_rev, rev), False)]
        if len(t) == 4 and t.isdigit():
            suffix.append((Order.phone_last4 == t, False))
        if len(t) >= MIN_TRACKING_SUFFIX:
            suffix.append((_starts(Tracking.number_rev, rev), True))
    return exact, suffix


async def _search(s: AsyncSession, conds: list[Cond]) -> tuple[list[tuple[int, datetime]], int]:
    """Newest matches (at most MAX_LISTED + 1 per key) and the number of matches over all keys."""
    hits: dict[int, datetime] = {}
    counts = 0
    for cond, join in conds:
        base = select(Order.id, Order.created_at)
        if join:
            base = base.join(Tracking, Tracking.order_id == Order.id)
        rows = (await s.execute(base.where(cond).order_by(Order.created_at.desc()).limit(MAX_LISTED + 1))).all()
        new = [r for r in rows if r.id not in hits]
        hits.update((r.id, r.created_at) for r in rows)
        if len(rows) > MAX_LISTED:
            counts += await s.scalar(select(func.count()).select_from(
                base.where(cond).limit(MAX_COUNTED).subquery())) or 0
            counts -= len(rows) - len(new)
        else:
            counts += len(new)
    ordered = sorted(hits.items(), key=lambda kv: kv[1], reverse=True)
    return ordered, max(counts, len(ordered))


async def candidates(s: AsyncSession, ids: list[int]) -> list[Candidate]:
    rows = (await s.execute(select(Order.id, Order.order_no, Order.channel, Order.buyer_name, Order.phone_masked,
                                   Order.paid_fen, Order.status, Order.created_at).where(Order.id.in_(ids)))).all()
    by_id = {r.id: r for r in rows}
    return [Candidate(r.order_no, r.channel, f"{mask_name(r.buyer_name)} {r.phone_masked}".strip(), r.paid_fen,
                      r.status, r.created_at) for i in ids if (r := by_id.get(i)) is not None]


async def find_order(session: AsyncSession, query: str, *, full: bool = False) -> Order:
    """One order, or OrderNotFound / AmbiguousOrder (with the newest 10 as a list to choose from).
    ``full`` also loads lines, discounts, tracking. Keys are tried exact first, then suffixes."""
    q = parse_query(query)
    opts = [selectinload(Order.lines), selectinload(Order.discounts), selectinload(Order.tracking)] if full else []
    if not q.tail:
        found = await session.scalar(select(Order).where(Order.order_no == q.text).options(*opts))
        if found is not None:
            return found
    exact, suffix = _conditions(q)
    hits, total = await _search(session, exact) if exact else ([], 0)
    if not hits and suffix:
        hits, total = await _search(session, suffix)
    if not hits:
        if _KEYLIKE.match(q.text) and len(q.text) < MIN_SUFFIX and not _PHONE.match(normalize_phone(q.text)):
            raise OrderNotFound(q.text, short=True)
        raise OrderNotFound(q.text)
    if len(hits) > 1:
        ids = [i for i, _ in hits[:MAX_LISTED]]
        raise AmbiguousOrder(q.text, await candidates(session, ids), total)
    order = await session.scalar(select(Order).where(Order.id == hits[0][0]).options(*opts))
    assert order is not None
    return order
