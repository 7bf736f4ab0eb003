"""What 查 shows of an order, read as plain rows (Core), not ORM entities: the order's shown
columns with its lines, discounts and tracking in one joined statement. Loading the same as ORM
entities (identity map, instance state, joined-eager de-duplication) cost ~0.3 ms more per 查, on
the path every message of the busiest command takes. The sealed digests behind key rotation are
not read at all."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, bindparam, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from orders import fast_reads
from orders.base import table
from orders.crypto import EncryptedText, decrypt
from orders.models import Discount, Order, OrderLine, Tracking


@dataclass(frozen=True, slots=True)
class LineShown:
    name: str
    qty: int


@dataclass(frozen=True, slots=True)
class DiscountShown:
    kind: str
    label: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class TrackingShown:
    carrier: str
    number: str


@dataclass(frozen=True, slots=True)
class EventShown:
    """A timeline entry as 查 shows it (the fields ``handlers.render.event_line`` reads)."""

    id: int
    at: datetime
    actor: str
    source: str
    kind: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ScanShown:
    """A parcel's carrier scan as 查 shows it."""

    event_at: datetime | None
    place: str
    context: str


@dataclass(frozen=True, slots=True)
class OrderShown:
    id: int
    order_no: str
    channel: str
    shop: str
    channel_order_id: str
    status: str
    status_since: datetime
    flags: list[str]
    buyer_name: str
    phone_masked: str
    province: str
    city: str
    district: str
    address_detail: str
    goods_total_fen: int
    shipping_fen: int
    paid_fen: int
    note: str
    lines: list[LineShown]
    discounts: list[DiscountShown]
    tracking: list[TrackingShown]


_O, _L, _D, _K = table(Order), table(OrderLine), table(Discount), table(Tracking)
_ORDER_COLS = [f for f in OrderShown.__dataclass_fields__ if f not in ("lines", "discounts", "tracking")]
# Sealed columns come back raw and are opened once: the joins repeat the order's columns on
# every row, and a Fernet decrypt per row and column cost ~20 µs each.
_SEALED = frozenset(c for c in _ORDER_COLS if isinstance(_O.c[c].type, EncryptedText))


@functools.cache
def _statement(by: str) -> Select[Any]:
    """The order whose ``by`` column (``order_no`` or ``id``) is ``:v``, a row per combination of
    its lines, discounts and tracking (outer joins: a few rows for a real order)."""
    return (select(*(type_coerce(_O.c[c], Text).label(c) if c in _SEALED else _O.c[c] for c in _ORDER_COLS),
                   _L.c.id.label("l_id"), _L.c.name.label("l_name"), _L.c.qty.label("l_qty"),
                   _D.c.id.label("d_id"), _D.c.kind.label("d_kind"), _D.c.label.label("d_label"),
                   _D.c.amount_fen.label("d_amount_fen"),
                   _K.c.id.label("k_id"), _K.c.carrier.label("k_carrier"), _K.c.number.label("k_number"))
            .select_from(_O.outerjoin(_L, _L.c.order_id == _O.c.id).outerjoin(_D, _D.c.order_id == _O.c.id)
                         .outerjoin(_K, _K.c.order_id == _O.c.id))
            .where(_O.c[by] == bindparam("v")))


async def load_shown(session: AsyncSession, by: str, value: str | int) -> OrderShown | None:
    """The order whose ``by`` column (``order_no`` or ``id``) is ``value``, as 查 shows it; lines,
    discounts and tracking in id order, as the entity's relationships give them."""
    rows = await fast_reads.rows(await session.connection(), _statement(by), {"v": value})
    if not rows:
        return None
    lines: dict[int, LineShown] = {}
    discounts: dict[int, DiscountShown] = {}
    tracking: dict[int, TrackingShown] = {}
    for r in rows:
        if r.l_id is not None and r.l_id not in lines:
            lines[r.l_id] = LineShown(r.l_name, r.l_qty)
        if r.d_id is not None and r.d_id not in discounts:
            discounts[r.d_id] = DiscountShown(r.d_kind, r.d_label, r.d_amount_fen)
        if r.k_id is not None and r.k_id not in tracking:
            tracking[r.k_id] = TrackingShown(r.k_carrier, r.k_number)
    first = rows[0]
    cols: dict[str, Any] = {c: decrypt(first[i]) if c in _SEALED else first[i] for i, c in enumerate(_ORDER_COLS)}
    return OrderShown(**cols, lines=[lines[i] for i in sorted(lines)],
                      discounts=[discounts[i] for i in sorted(discounts)],
                      tracking=[tracking[i] for i in sorted(tracking)])
