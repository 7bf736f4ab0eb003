"""Finding an order the way a person describes it: hub number (or a suffix of 4+), platform
order id (or a suffix, also "尾号1234"), the buyer's mobile (full: by hash; last 4; the masked
form 185****3681), the buyer's name or nickname (exact, by hash), a tracking number (or a suffix
of 6+). Every key is an indexed column; several matches are listed newest first."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    func,
    literal,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from orders.crypto import decrypt
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
_HUBLIKE = re.compile(r"^[A-Z]{1,4}\d{6}-\d{4,}$")  # BG260122-8812
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


def _starts(col: Any, name: str, pg: bool) -> ColumnElement[bool]:
    """An index range scan: col >= :name AND col < :name_end (the prefix with its last character
    bumped). On PostgreSQL in byte order (COLLATE "C", as the 0021 indexes are): a language
    collation would ignore the '-' of a hub number."""
    c = col.collate("C") if pg else col
    return (c >= bindparam(name, type_=String)) & (c < bindparam(name + "_end", type_=String))


# Every key a query may be matched on: (condition on bound parameters named after the key, needs
# the tracking_numbers join). Statements are built once per combination of keys and reused.
def _key(key: str, pg: bool) -> tuple[ColumnElement[bool], bool]:
    p = bindparam(key, type_=String)
    return {
        "order_no": lambda: (Order.order_no == p, False),
        "channel_id": lambda: (Order.channel_order_id == p, False),
        "tracking": lambda: (Tracking.number == p, True),
        "phone": lambda: (Order.phone_hash == p, False),
        "name": lambda: (Order.name_hash == p, False),
        "nick": lambda: (Order.nick_hash == p, False),
        "masked": lambda: ((Order.phone_last4 == p) & Order.phone_masked.like(bindparam("masked_head", type_=String)),
                           False),
        "last4": lambda: (Order.phone_last4 == p, False),
        "order_no_rev": lambda: (_starts(Order.order_no_rev, key, pg), False),
        "channel_id_rev": lambda: (_starts(Order.channel_order_id_rev, key, pg), False),
        "tracking_rev": lambda: (_starts(Tracking.number_rev, key, pg), True),
    }[key]()


def _conditions(q: Query) -> tuple[list[str], list[str], dict[str, str]]:
    """(exact keys, suffix keys, their parameters) for this query."""
    t = q.text
    exact: list[str] = []
    suffix: list[str] = []
    params: dict[str, str] = {}
    masked = _MASKED.match(t)
    if masked:
        params.update(masked=masked.group(2), masked_head=masked.group(1) + "%")
        return ["masked"], [], params
    keylike = bool(_KEYLIKE.match(t))
    if keylike and not q.tail:
        if not _HUBLIKE.match(t):  # a hub number is looked up on its own first (find_order)
            exact.append("order_no")
        exact.append("channel_id")
        if len(t) >= MIN_TRACKING_SUFFIX:
            exact.append("tracking")
        if _PHONE.match(t):
            exact.append("phone")
            params["phone"] = hash_phone(t)
        params.update(order_no=t, channel_id=t, tracking=t)
    if not q.tail and not t.replace("-", "").isdigit():
        # a name or a nickname (nicknames may look like ids: tb_hu2023, hu2023; never all digits)
        name, nick = hash_text("name", t), hash_text("nick", t)
        if name:
            exact += ["name", "nick"]
            params.update(name=name, nick=nick)
    if keylike and len(t) >= MIN_SUFFIX:
        rev = t[::-1]
        suffix += ["order_no_rev", "channel_id_rev"]
        if len(t) == 4 and t.isdigit():
            suffix.append("last4")
            params["last4"] = t
        if len(t) >= MIN_TRACKING_SUFFIX:
            suffix.append("tracking_rev")
        for k in ("order_no_rev", "channel_id_rev", "tracking_rev"):
            params.update({k: rev, k + "_end": _next_prefix(rev)})
    return exact, suffix, params


def _keyed(key: str, pg: bool, *cols: Any) -> Select[Any]:
    cond, join = _key(key, pg)
    q = select(Order.id, *cols)
    return (q.join(Tracking, Tracking.order_id == Order.id) if join else q).where(cond)


# The list's columns; the name stays encrypted until it is one of the ten shown (then masked).
_LISTED = (Order.order_no, Order.channel, type_coerce(Order.buyer_name, String).label("name_sealed"),
           Order.phone_masked, Order.paid_fen, Order.status)


@functools.cache
def _search_stmt(keys: tuple[str, ...], pg: bool) -> Select[Any]:
    """The newest MAX_LISTED + 1 of every key (each from its index) with the list's columns; ``k``
    is the key's position in ``keys``."""
    branches = [select(_keyed(key, pg, Order.created_at, literal(k, Integer).label("k"))
                       .order_by(Order.created_at.desc()).limit(MAX_LISTED + 1).subquery())
                for k, key in enumerate(keys)]
    hits = union_all(*branches).subquery()
    return select(hits.c.k, hits.c.created_at, Order.id, *_LISTED).join(Order, Order.id == hits.c.id)


@functools.cache
def _count_stmt(keys: tuple[str, ...], pg: bool) -> Select[Any]:
    ids = union(*(select(_keyed(key, pg).limit(MAX_COUNTED).subquery()) for key in keys)).subquery()
    return select(func.count()).select_from(ids)


async def _search(s: AsyncSession, tiers: list[list[str]], params: dict[str, str], pg: bool) -> tuple[list[Any], int]:
    """One statement over every key of every tier; the first tier with a match wins. Counted
    (a second statement) only when a key has more than MAX_LISTED matches."""
    keys = tuple(k for tier in tiers for k in tier)
    if not keys:
        return [], 0
    rows = (await s.execute(_search_stmt(keys, pg), params)).all()
    start = 0
    for tier in tiers:
        mine = [r for r in rows if start <= r.k < start + len(tier)]
        start += len(tier)
        if not mine:
            continue
        found = sorted({r.id: r for r in mine}.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        if max(Counter(r.k for r in mine).values()) <= MAX_LISTED:
            return found, len(found)
        return found, int(await s.scalar(_count_stmt(tuple(tier), pg), params) or 0)
    return [], 0


def _candidate(r: Any) -> Candidate:
    buyer = f"{mask_name(decrypt(r.name_sealed or ''))} {r.phone_masked}".strip()
    return Candidate(r.order_no, r.channel, buyer, r.paid_fen, r.status, r.created_at)


async def candidates(s: AsyncSession, ids: list[int]) -> list[Candidate]:
    rows = (await s.execute(select(Order.id, Order.created_at, *_LISTED).where(Order.id.in_(ids)))).all()
    by_id = {r.id: r for r in rows}
    return [_candidate(r) for i in ids if (r := by_id.get(i)) is not None]


@functools.cache
def _load_stmt(by: str, full: bool) -> Select[Any]:
    """The order whose ``by`` column (``order_no`` or ``id``) equals ``:v``; built once per shape."""
    opts = [joinedload(Order.lines), joinedload(Order.discounts), joinedload(Order.tracking)] if full else []
    return select(Order).where(getattr(Order, by) == bindparam("v")).options(*opts)


async def load_order(session: AsyncSession, by: str, value: str | int, *, full: bool = False) -> Order | None:
    """The order whose ``by`` column (``order_no`` or ``id``) is ``value``; ``full`` also loads
    lines, discounts, tracking in the same statement (joined: one round trip, a few rows). What 查
    shows is read as plain rows instead (orders.shown)."""
    found = (await session.scalars(_load_stmt(by, full), {"v": value})).unique().all()
    return found[0] if found else None


async def find_order(session: AsyncSession, query: str, *, full: bool = False) -> Order:
    """One order, or OrderNotFound / AmbiguousOrder (with the newest 10 as a list to choose from).
    ``full`` also loads lines, discounts, tracking. Keys are tried exact first, then suffixes: a
    hub number in one statement, any other key in two (search, load)."""

    async def load(s: AsyncSession, by: str, value: str | int) -> Order | None:
        return await load_order(s, by, value, full=full)

    return await find_with(session, query, load)


Loaded = TypeVar("Loaded")


async def find_with(session: AsyncSession, query: str,
                    load: Callable[[AsyncSession, str, str | int], Awaitable[Loaded | None]]) -> Loaded:
    """:func:`find_order` with the order loaded by ``load(session, by, value)`` (``by``:
    ``order_no`` or ``id``), e.g. as plain rows (orders.shown)."""
    q = parse_query(query)
    if not q.tail and _HUBLIKE.match(q.text):
        found = await load(session, "order_no", q.text)
        if found is not None:
            return found
    exact, suffix, params = _conditions(q)
    hits, total = await _search(session, [exact, suffix], params, session.get_bind().dialect.name == "postgresql")
    if not hits:
        if _KEYLIKE.match(q.text) and len(q.text) < MIN_SUFFIX and not _PHONE.match(normalize_phone(q.text)):
            raise OrderNotFound(q.text, short=True)
        raise OrderNotFound(q.text)
    if len(hits) > 1:
        raise AmbiguousOrder(q.text, [_candidate(r) for r in hits[:MAX_LISTED]], total)
    order = await load(session, "id", hits[0].id)
    assert order is not None
    return order
